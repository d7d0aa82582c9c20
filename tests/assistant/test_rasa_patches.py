"""The patches to Rasa internals in bot/rasa_patches.py: still needed, still equivalent."""

from __future__ import annotations

import asyncio
import hashlib
import inspect

import aiohttp
import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot import rasa_patches

# sha256 of the source of RemoteAction._validate_action_result in Rasa 3.6.21. If a Rasa upgrade changes it, read
# the new code: the patch may be obsolete (validator built once upstream) or wrong (new behaviour to keep).
ORIGINAL_SHA256 = "f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42"
# The same for EndpointConfig.session (replaced) and EndpointConfig.request (which must still use it in `async with`).
SESSION_SHA256 = "e55aa13d9d4fb4bc440ac33b870a97ee162b76dda7ccb6bf68433567475fdffb"
REQUEST_SHA256 = "ccdb778aed8208e23cde3c3f47eac7fbbbb735dac8f7ef7254d54451c64ad608"

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "好的"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "action_listen"}]},
    {},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"responses": [1, 2]},
    {"events": [{"event": "slot"}]},
]


def test_original_is_what_the_patch_was_written_against():
    source = inspect.getsource(rasa_patches.ORIGINAL_VALIDATE)
    assert "validate(result, self.action_response_format_spec())" in source
    assert hashlib.sha256(source.encode()).hexdigest() == ORIGINAL_SHA256, (
        "Rasa's RemoteAction._validate_action_result changed: check bot/rasa_patches.py against it")


@pytest.mark.parametrize("payload", VALID)
def test_same_payloads_pass(payload):
    action = RemoteAction("action_x", None)
    assert rasa_patches.ORIGINAL_VALIDATE(action, payload) is True
    assert rasa_patches._validate_action_result(action, payload) is True


@pytest.mark.parametrize("payload", INVALID)
def test_same_payloads_fail_with_the_same_error(payload):
    action = RemoteAction("action_x", None)
    with pytest.raises(ValidationError) as original:
        rasa_patches.ORIGINAL_VALIDATE(action, payload)
    with pytest.raises(ValidationError) as patched:
        rasa_patches._validate_action_result(action, payload)
    assert patched.value.message == original.value.message
    assert "Failed to validate Action server response" in patched.value.message


def test_apply_installs_the_patch():
    rasa_patches.apply()
    assert RemoteAction._validate_action_result is rasa_patches._validate_action_result
    assert EndpointConfig.session is rasa_patches._session


def test_endpoint_session_and_request_are_what_the_patch_was_written_against():
    request = inspect.getsource(EndpointConfig.request)
    assert "async with self.session() as session:" in request
    assert hashlib.sha256(request.encode()).hexdigest() == REQUEST_SHA256, (
        "Rasa's EndpointConfig.request changed: check the kept session in bot/rasa_patches.py against it")
    assert hashlib.sha256(inspect.getsource(rasa_patches.ORIGINAL_SESSION).encode()).hexdigest() == SESSION_SHA256, (
        "Rasa's EndpointConfig.session changed: build the kept session in bot/rasa_patches.py the same way")


async def _calls(session_method, endpoint: EndpointConfig, bodies: list[dict]) -> tuple[list, list, list]:  # noqa: ANN001
    """Each body POSTed with `endpoint.request()` to a real local server, `session_method` as the endpoint's
    session(): (answers or errors, the headers the server saw, its peer ports: one per TCP connection)."""
    seen_headers, peers = [], []

    async def webhook(request: web.Request) -> web.Response:
        seen_headers.append({k: v for k, v in request.headers.items() if k in ("Authorization", "X-Desk")})
        peers.append(request.transport.get_extra_info("peername")[1])
        body = await request.json()
        if body.get("fail"):
            return web.json_response({"error": "no"}, status=500)
        return web.json_response({"echo": body})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    original = EndpointConfig.session
    EndpointConfig.session = session_method
    endpoint.url = f"http://127.0.0.1:{port}/webhook"
    answers: list = []
    try:
        for body in bodies:
            try:
                answers.append(await endpoint.request(json=body, method="post"))
            except ClientResponseError as error:
                answers.append(("error", error.status))
    finally:
        EndpointConfig.session = original
        _, kept = endpoint.__dict__.pop("_kept_session", (None, None))
        if kept is not None:
            await kept.close()
        await runner.cleanup()
    return answers, seen_headers, peers


def test_kept_session_answers_as_stock_on_one_connection():
    bodies = [{"n": 1}, {"fail": True}, {"n": 3}]

    def endpoint() -> EndpointConfig:
        return EndpointConfig(headers={"X-Desk": "1"}, basic_auth={"username": "u", "password": "p"})

    stock = asyncio.run(_calls(rasa_patches.ORIGINAL_SESSION, endpoint(), bodies))
    kept = asyncio.run(_calls(rasa_patches._session, endpoint(), bodies))
    assert kept[0] == stock[0] == [{"echo": {"n": 1}}, ("error", 500), {"echo": {"n": 3}}]
    assert kept[1] == stock[1] and stock[1][0]["X-Desk"] == "1" and stock[1][0]["Authorization"].startswith("Basic ")
    assert len(set(stock[2])) == 3  # a new connection per request
    assert len(set(kept[2])) == 1  # one kept-alive connection


def test_kept_session_follows_the_event_loop():
    endpoint = EndpointConfig(url="http://127.0.0.1:9/")

    async def session() -> aiohttp.ClientSession:
        async with rasa_patches._session(endpoint) as first, rasa_patches._session(endpoint) as second:
            assert first is second and not first.closed
            return first

    one = asyncio.run(session())
    two = asyncio.run(session())  # a new loop (a test, a restarted server): a new session on it
    assert one is not two
