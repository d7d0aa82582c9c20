"""Phone masking and openid redaction in text and in every log line of a process."""

from __future__ import annotations

import json
import logging

import privacy


def test_masking():
    assert privacy.mask_phone("13812345678") == "138****5678"
    assert privacy.mask_phone("0851-86861234") == "0851-****1234"
    assert privacy.mask_text("打13812345678或0851-86861234") == "打138****5678或0851-****1234"
    assert privacy.mask_text("SQ20261127-7K3M9Q") == "SQ20261127-7K3M9Q"
    assert privacy.mask_text("hash a13812345678b") == "hash a13812345678b"  # inside a word: not a phone


def test_masking_inside_escaped_json():
    body = json.dumps({"text": "我的手机13812345678", "slots": {"phone": "１３９８５０１２３４６"}})
    assert "\\u" in body  # ensure_ascii: 机 is \\u673a, so the phone follows a hex digit
    masked = privacy.mask_text(body)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "13985012346" not in masked and "\\uff11\\uff13" not in masked


def test_scrub_redacts_openids():
    openid = "o" + "A" * 27
    text = privacy.scrub(f"user {openid} phone 13812345678 url ?openid=xyz123")
    assert openid not in text and "xyz123" not in text and privacy.openid_hash(openid) in text
    assert "138****5678" in text


def test_log_masking_covers_child_loggers_and_tracebacks(caplog):
    privacy.install_log_masking()
    handler_text = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handler_text.append(self.format(record))

    logger = logging.getLogger("some.child.logger")
    keep = Keep()
    logger.addHandler(keep)
    try:
        with caplog.at_level(logging.INFO):
            logger.info("user said %s", "我的电话13812345678")
            try:
                raise ValueError('tracker {"text": "\\u624b\\u673a13985012346"}')
            except ValueError:
                logger.exception("action failed")
    finally:
        logger.removeHandler(keep)
    written = "\n".join(handler_text) + caplog.text
    assert "13812345678" not in written and "138****5678" in written
    assert "13985012346" not in written and "139****2346" in written
    assert "Traceback" in written
