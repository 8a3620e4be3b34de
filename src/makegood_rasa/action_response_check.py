"""Rasa's check of an actions-server response, with the schema checked once, not per call.

Rasa 3.6 checks every response from the actions server with `jsonschema.validate(result,
spec)`. That function first checks the *schema* against JSON Schema's 2020-12 meta-schema,
then the response against the schema. The schema is a constant, yet checking it is most of
the work: profiled under load (py-spy, 100 conversations at once), it was 31% of the Rasa
process's CPU, and a case turn calls the actions server at least once. `install()` replaces
`RemoteAction._validate_action_result` with the same check on a validator built once: the
same schema, the same draft, the same error (the one `jsonschema.validate` would raise,
with Rasa's hint appended). Only the repeated check of the constant schema is gone.

Installed by `makegood_rasa.channels`, which `rasa run` imports before it serves (the
channels are where turns that call the actions server come from).
"""

from __future__ import annotations

from typing import Any

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_HINT = (
    ". Failed to validate Action server response from API, make sure your response from the "
    f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
)


class _CheckedOnce:
    """A validator for one schema; rebuilt (and the schema checked) only if the schema changes."""

    def __init__(self) -> None:
        self._schema: dict[str, Any] | None = None
        self._validator: Any = None

    def errors(self, instance: Any, schema: dict[str, Any]) -> exceptions.ValidationError | None:
        if schema != self._schema:
            cls = validators.validator_for(schema)
            cls.check_schema(schema)
            self._validator, self._schema = cls(schema), schema
        return exceptions.best_match(self._validator.iter_errors(instance))


_checker = _CheckedOnce()


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = _checker.errors(result, self.action_response_format_spec())
    if error is not None:
        error.message += _HINT
        raise error
    return True


def install() -> None:
    """Idempotent: the Rasa process's RemoteAction checks responses with the cached validator."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
