"""Rasa's socketio channel with the session handshake fixed for python-socketio >= 5.10.

Rasa 3.6 calls `sio.enter_room(...)` without `await` in its `session_request`
handler; since python-socketio 5.10 `AsyncServer.enter_room` is a coroutine, so
with `session_persistence: true` the client never joins its session's room and
never receives a bot message (RasaHQ/rasa#13027, fix PRs #13148/#13168 unmerged).
This subclass replaces only that handler; the channel keeps the name `socketio`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint


class SocketIOInput(RasaSocketIOInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict | None) -> None:
            data = data or {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=self.namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=self.namespace)

        return blueprint
