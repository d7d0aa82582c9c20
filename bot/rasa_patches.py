"""Small, tested patches to Rasa 3.6 internals, applied once when the Rasa server loads the model.

`RemoteAction._validate_action_result` checks every action-server response with `jsonschema.validate()`, which
builds a new validator for the (large) events schema on every call: about 70 ms of CPU per custom-action turn
against ≈3 ms with a validator built once (RasaHQ/rasa#11717). The patch builds it once per process and keeps
the behaviour: the same payloads pass, the same ones raise `jsonschema.ValidationError` with Rasa's hint appended.

`tests/assistant/test_rasa_patches.py` pins the original method's source, so a Rasa upgrade that changes it
fails the test and makes us look again.
"""

from __future__ import annotations

import functools
from typing import Any

from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

ORIGINAL_VALIDATE = RemoteAction._validate_action_result


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


def apply() -> None:
    """Install the patches (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
