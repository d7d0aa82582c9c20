"""The patches to Rasa internals in bot/rasa_patches.py: still needed, still equivalent."""

from __future__ import annotations

import hashlib
import inspect

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_patches

# sha256 of the source of RemoteAction._validate_action_result in Rasa 3.6.21. If a Rasa upgrade changes it, read
# the new code: the patch may be obsolete (validator built once upstream) or wrong (new behaviour to keep).
ORIGINAL_SHA256 = "f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42"

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
