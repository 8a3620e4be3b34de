"""The Rasa process checks actions-server responses as Rasa does, without re-checking the schema."""

from __future__ import annotations

import subprocess
import sys
from unittest import mock

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from makegood_rasa import action_response_check

pytestmark = pytest.mark.unit

VALID = {
    "events": [{"event": "slot", "name": "order_id", "value": "MG-10422", "timestamp": None}],
    "responses": [{"text": "Here's what I can do"}],
}
INVALID = [
    {"events": {"event": "slot"}},  # events must be a list
    {"events": [{"event": "no_such_event"}]},
    {"responses": "Here's what I can do"},  # responses must be a list of objects
    {"events": [{"event": "slot", "name": 3}]},
]


@pytest.fixture
def action() -> RemoteAction:
    action_response_check.install()
    return RemoteAction("validate_case_form", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_a_valid_response_passes(action):
    assert action._validate_action_result(VALID) is True


@pytest.mark.parametrize("response", INVALID)
def test_an_invalid_response_is_refused_with_the_same_error_as_jsonschema_validate(action, response):
    with pytest.raises(jsonschema.ValidationError) as plain:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as ours:
        action._validate_action_result(response)
    assert ours.value.message.startswith(plain.value.message)
    assert "Failed to validate Action server response" in ours.value.message
    assert list(ours.value.path) == list(plain.value.path)


def test_the_constant_schema_is_checked_once_not_per_response(action):
    action._validate_action_result(VALID)  # builds the validator if this process has not yet
    cls = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())
    with mock.patch.object(cls, "check_schema", wraps=cls.check_schema) as check_schema:
        for _ in range(5):
            action._validate_action_result(VALID)
        with pytest.raises(jsonschema.ValidationError):
            action._validate_action_result(INVALID[0])
    assert check_schema.call_count == 0


def test_rasa_run_gets_it_by_importing_the_channels():
    # In a fresh process: Rasa's own check until the channels module (what `rasa run` loads
    # from credentials.yml) is imported, ours after.
    script = (
        "from rasa.core.actions.action import RemoteAction as R\n"
        "before = R._validate_action_result.__module__\n"
        "import makegood_rasa.channels\n"
        "print(before, R._validate_action_result.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["rasa.core.actions.action", "makegood_rasa.action_response_check"]
