"""Rasa's REST channel, hardened: `bot.channels.rest.RestInput` (still named `rest`: /webhooks/rest/webhook).

- Off or behind a token: `REST_CHANNEL=off` refuses every message (403); with `REST_TOKEN` set a message needs
  `Authorization: Bearer <token>` (401 otherwise).  Development and the tests use it open; production turns it
  off or sets a token, because the channel trusts the `sender` it is given.
- Every malformed body is a 400 with a precise message (not JSON, not an object, sender/message/metadata of the
  wrong type, sender longer than `MAX_SENDER_CHARS`, metadata over `intake.METADATA_MAX_BYTES`).
- The client cannot choose the input channel (Rasa's channel takes `input_channel` from the body).
- Size limits and the polite reply on a failed turn: `intake`.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

import settings
from bot.channels import intake

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RestInput(RasaRestInput):
    def __init__(self) -> None:
        self.conf = settings.get()  # read once when the server starts, not per message

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        return cls()

    def blueprint(self, on_new_message: intake.OnNewMessage) -> Blueprint:
        guarded = intake.guard(on_new_message)
        bp = Blueprint("rest_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.conf.rest_channel != "off" else "off"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                self._authorise(request)
                sender, text, metadata = self._parse(request)
            except BadRequest as exc:
                logger.warning("rest request refused (%d): %s", exc.status, exc.reason)
                return response.json({"error": exc.reason}, status=exc.status)
            collector = CollectingOutputChannel()
            await guarded(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
            return response.json(collector.messages)

        return bp

    def _authorise(self, request: Request) -> None:
        conf = self.conf
        if conf.rest_channel == "off":
            raise BadRequest(403, "the REST channel is turned off on this server")
        if conf.rest_token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {conf.rest_token}".encode()):
                raise BadRequest(401, "the REST channel needs 'Authorization: Bearer <token>'")

    @staticmethod
    def _parse(request: Request) -> tuple[str, str, dict]:
        try:
            body = json.loads(request.body or b"")
        except (ValueError, RecursionError):
            raise BadRequest(400, "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest(400, "body must be a JSON object with 'sender' and 'message'")
        sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata") or {}
        if not isinstance(sender, str) or not sender.strip():
            raise BadRequest(400, "'sender' must be a non-empty string")
        if len(sender) > MAX_SENDER_CHARS or intake.repair(sender) != sender:
            raise BadRequest(400, f"'sender' must be valid text of at most {MAX_SENDER_CHARS} characters")
        if not isinstance(text, str):
            raise BadRequest(400, "'message' must be a string")
        if not intake.acceptable_metadata(metadata):
            raise BadRequest(400, f"'metadata' must be a JSON object of at most {intake.METADATA_MAX_BYTES} bytes")
        return sender, text, metadata
