"""The chat page's socket.io channel (still named `socketio`), with sessions bound to connections.

Rasa 3.6's own channel trusts the `session_id` in every `user_uttered` event and lets a client join any session
id's room, so whoever learns a session id can read and continue that conversation; its `session_request` handler
also never joins the room with python-socketio >= 5.10 (it does not await `enter_room`, RasaHQ/rasa#13027).  Here:

- Session ids are minted by the server (uuid4, 128 random bits).  A client may ask to continue a session (the page
  keeps its id in localStorage across reloads) only with an id of that form; anything else gets a fresh one.
- A session id belongs to one connection at a time: `session_request` binds it to the connection (and removes an
  earlier connection from its room), and a `user_uttered` is processed only for the session bound to the
  connection it arrives on; a `session_id` in the event that differs is refused.
- CORS: only the site's origin (`settings.allowed_origin`) may open a socket.io connection from a browser.
- Messages: `intake` (size limits, polite reply on failure); a frame larger than the transport limit (a few times
  `message_max_bytes`) closes the connection before anything is parsed.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

import settings
from bot.channels import intake

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[0-9a-f]{32}")


class SocketIOInput(RasaSocketIOInput):
    def blueprint(self, on_new_message: intake.OnNewMessage) -> Blueprint:
        guarded = intake.guard(on_new_message)
        conf = settings.get()
        # a frame carries the message JSON-escaped (up to 6 bytes per character) plus metadata
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[conf.allowed_origin],
                          max_http_buffer_size=4 * conf.message_max_bytes + intake.METADATA_MAX_BYTES)
        bp = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        bound: dict[str, str] = {}  # connection sid → its session id
        holder: dict[str, str] = {}  # session id → the connection sid holding it

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, _environ: dict, _auth: Any = None) -> bool:
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            session_id = bound.pop(sid, None)
            if session_id and holder.get(session_id) == sid:
                del holder[session_id]

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            session_id = asked if isinstance(asked, str) and SESSION_ID.fullmatch(asked) else uuid.uuid4().hex
            previous = bound.get(sid)
            if previous and previous != session_id:
                await sio.leave_room(sid, previous, namespace=self.namespace)
                holder.pop(previous, None)
            earlier = holder.get(session_id)
            if earlier and earlier != sid:  # a reload or reconnect: the newest connection holds the session
                await sio.leave_room(earlier, session_id, namespace=self.namespace)
                bound.pop(earlier, None)
            bound[sid], holder[session_id] = session_id, sid
            await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            session_id = bound.get(sid)
            if not isinstance(data, dict) or session_id is None:
                logger.warning("socketio: message on a connection without a session refused")
                return
            if data.get("session_id") not in (None, session_id):
                logger.warning("socketio: message for a session not bound to its connection refused")
                return
            text, metadata = data.get("message"), data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except (ValueError, RecursionError):
                    metadata = None
            if not isinstance(text, str) or not intake.acceptable_metadata(metadata):
                logger.warning("socketio: malformed message refused")
                return
            output = SocketIOOutput(sio, self.bot_message_evt)
            await guarded(UserMessage(text, output, session_id, input_channel=self.name(), metadata=metadata))

        return bp
