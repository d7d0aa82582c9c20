"""Nothing a service prints reaches its log file with a full phone number or an openid in clear."""

from __future__ import annotations

import os
import sys
import time

from ops.services import Service
from privacy import openid_hash
from tests.security.conftest import MASKED, PHONE

OPENID = "oABCDEFGHIJKLMNOPQRSTUVWXYZa"

# a child that writes outside every log handler: print, a warning, an unhandled traceback, escaped JSON
CHILD = f"""
import json, sys, warnings
print("user said {PHONE}", flush=True)
print(json.dumps({{"text": "电话{PHONE} openid {OPENID}"}}), flush=True)
warnings.warn("slot value {PHONE}")
sys.stderr.write("stderr: +86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}\\n")
raise RuntimeError("tracker: {{'phone': '{PHONE}'}}")
"""


def test_child_output_is_scrubbed_on_its_way_to_the_log(tmp_path):
    log = tmp_path / "child.log"
    service = Service("child", [sys.executable, "-c", CHILD], dict(os.environ), log, "http://127.0.0.1:9/")
    service.start()
    assert service.proc.wait(30) == 1
    for _ in range(100):  # the copier thread finishes just after the child
        text = log.read_text(encoding="utf-8")
        if "RuntimeError" in text:
            break
        time.sleep(0.05)
    assert text.count(MASKED) == 5 and "RuntimeError" in text
    assert PHONE not in text and PHONE[3:7] + "-" + PHONE[7:] not in text and "\\u7535\\u8bdd" + PHONE not in text
    assert OPENID not in text and openid_hash(OPENID) in text
