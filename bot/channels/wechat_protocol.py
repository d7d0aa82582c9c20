"""The WeChat Official Account push protocol: signatures, replay window, safe XML, 安全模式 crypto, replies.

Pure functions (no I/O), safe inside Sanic handlers.  Every incoming body is parsed by defusedxml with DTDs
forbidden *before* wechatpy sees it, so entity-expansion attacks are refused instead of expanded.  Errors are
raised as `ProtocolError` carrying the HTTP status the webhook answers with.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.utils import check_signature

MAX_TIME_DIGITS = 12  # a Unix time in seconds has 10 digits until the year 2286


class ProtocolError(Exception):
    """A request WeChat's protocol does not allow; `status` is the HTTP answer (400/403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Incoming:
    message: BaseMessage
    encrypted: bool  # the reply must be encrypted too


def make_crypto(token: str, aes_key: str, app_id: str) -> WeChatCrypto | None:
    """WeChatCrypto for 安全模式/兼容模式, or None when no EncodingAESKey is configured."""
    if not aes_key:
        return None
    if len(aes_key) != 43:
        raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
    return WeChatCrypto(token, aes_key, app_id)


def verify_query(token: str, query: Mapping[str, str], replay_window: float, now: float | None = None) -> None:
    """Check `signature` over (token, timestamp, nonce) and that `timestamp` lies within the replay window."""
    signature, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce):
        raise ProtocolError(403, "missing signature parameters")
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise ProtocolError(403, "bad signature") from None
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIME_DIGITS):
        raise ProtocolError(400, "timestamp must be a Unix time in seconds")
    age = abs((time.time() if now is None else now) - int(timestamp))
    if age > replay_window:
        raise ProtocolError(403, f"stale timestamp ({int(age)} s old)")


def safe_fields(body: bytes | str) -> dict[str, str]:
    """The children of a WeChat `<xml>` document as a dict; malformed or hostile XML → ProtocolError(400)."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise ProtocolError(400, f"unacceptable XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise ProtocolError(400, "root element is not <xml>")
    return {child.tag: (child.text or "") for child in root}


def decode(body: bytes, query: Mapping[str, str], crypto: WeChatCrypto | None) -> Incoming:
    """Parse (and in 安全模式/兼容模式 decrypt) one pushed message; the signature query is already verified."""
    fields = safe_fields(body)
    encrypted = query.get("encrypt_type", "raw").lower() == "aes"
    if encrypted and crypto is not None:
        if "Encrypt" not in fields:
            raise ProtocolError(400, "encrypt_type=aes without <Encrypt>")
        try:
            xml = crypto.decrypt_message(fields, query.get("msg_signature", ""), query["timestamp"], query["nonce"])
        except InvalidSignatureException:
            raise ProtocolError(403, "bad msg_signature") from None
        except InvalidAppIdException:
            raise ProtocolError(403, "message for another app id") from None
        except Exception as exc:  # noqa: BLE001 - undecryptable ciphertext in any form
            raise ProtocolError(400, f"cannot decrypt: {type(exc).__name__}") from None
        fields = safe_fields(xml)
    elif encrypted:
        if "MsgType" not in fields:  # 安全模式 without a key: nothing readable
            raise ProtocolError(400, "encrypted message but no WECHAT_AES_KEY configured")
        xml, encrypted = body, False  # 兼容模式: the plaintext copy, answered in plaintext
    else:
        xml = body
    if "MsgType" not in fields or "FromUserName" not in fields:
        raise ProtocolError(400, "not a WeChat message")
    return Incoming(_checked(parse_message(xml)), encrypted)


def _checked(message: BaseMessage) -> BaseMessage:
    """`message` once its numeric fields are numbers in range (wechatpy converts them lazily, on first use)."""
    for name, attr, limit in (("CreateTime", "time", 10 ** MAX_TIME_DIGITS), ("MsgId", "id", 2 ** 64)):
        try:
            value = getattr(message, attr)
        except (ValueError, TypeError, OverflowError):
            raise ProtocolError(400, f"{name} is not a number") from None
        if value is not None and not 0 <= int(value) < limit:
            raise ProtocolError(400, f"{name} is out of range")
    return message


def text_reply(message: BaseMessage, text: str, crypto: WeChatCrypto | None, encrypted: bool, nonce: str) -> str:
    """The passive reply XML for `text`, encrypted when the request was."""
    xml = create_reply(text.replace("]]>", "]] >"), message, render=True)
    if encrypted and crypto is not None:
        return crypto.encrypt_message(xml, nonce, str(int(time.time())))
    return xml
