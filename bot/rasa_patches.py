"""Small, tested patches to Rasa 3.6 internals, applied once when the Rasa server loads the model.

`RemoteAction._validate_action_result` checks every action-server response with `jsonschema.validate()`, which
builds a new validator for the (large) events schema on every call: about 70 ms of CPU per custom-action turn
against ≈3 ms with a validator built once (RasaHQ/rasa#11717). The patch builds it once per process and keeps
the behaviour: the same payloads pass, the same ones raise `jsonschema.ValidationError` with Rasa's hint appended.

`EndpointConfig.session()` gives every request to the action server a new `aiohttp.ClientSession`, closed after
the response: a new TCP connection (and a new connection on the action server, or haproxy in front of it) for
every custom action.  The patched `session()` hands `async with` the endpoint's one long-lived session for the
running event loop, with the same headers, auth and timeout, whose connections are kept alive for
KEEPALIVE_SECONDS (below the action server's own idle timeout, so the server never closes one first); the
request itself (`EndpointConfig.request`, unchanged) and its errors stay Rasa's.

`tests/assistant/test_rasa_patches.py` pins the original methods' source, so a Rasa upgrade that changes them
fails the test and makes us look again.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import aiohttp
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.constants import DOCS_BASE_URL
from rasa.utils.endpoints import EndpointConfig

ORIGINAL_VALIDATE = RemoteAction._validate_action_result
ORIGINAL_SESSION = EndpointConfig.session
KEEPALIVE_SECONDS = 3.0  # below the action server's idle timeout (Sanic's default keep-alive: 5 s)


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    from jsonschema import ValidationError, exceptions

    error = exceptions.best_match(_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


class _KeptSession:
    """What the patched `EndpointConfig.session()` returns: `async with` yields the endpoint's long-lived session
    for the running event loop (made on first use, or again once closed) and leaves it open."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        kept_loop, kept = self.endpoint.__dict__.get("_kept_session", (None, None))
        if kept is None or kept.closed or kept_loop is not loop:
            basic_auth = self.endpoint.basic_auth
            # what Rasa's session() builds, on a connector that keeps connections (no limit: a stock session each)
            kept = aiohttp.ClientSession(
                headers=self.endpoint.headers,
                auth=aiohttp.BasicAuth(basic_auth["username"], basic_auth["password"]) if basic_auth else None,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS))
            self.endpoint.__dict__["_kept_session"] = (loop, kept)
        return kept

    async def __aexit__(self, *exc: object) -> None:
        return None


def _session(self: EndpointConfig) -> _KeptSession:
    return _KeptSession(self)


def apply() -> None:
    """Install the patches (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    EndpointConfig.session = _session  # type: ignore[method-assign,assignment]
