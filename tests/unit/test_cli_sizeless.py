"""`makegood options` on a pack with remedies of kind item/none (the airline pack): a sizeless
option prints the remedy alone, never "$0.00" or "None" in the size column; JSON says null."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from makegood.cli import main

pytestmark = pytest.mark.unit

AIRLINE = Path(__file__).parents[2] / "policy-packs" / "airline"


@pytest.fixture
def airline_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MAKEGOOD_POLICY_PATH", str(AIRLINE))
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")


def option_lines(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}


def test_options_prints_a_sizeless_remedy_alone(airline_env, capsys):
    argv = [
        "options",
        "--situation",
        "flight_delay",
        "--tier",
        "agent",
        "--fact",
        "delay_hours=4",
        "--fact",
        "cause=weather",
        "--fact",
        "membership=Gold",
    ]
    assert main(argv) == 0
    lines = option_lines(capsys.readouterr().out)
    for remedy in ("meal_voucher", "lounge_pass", "bonus_miles"):
        size_column = lines[remedy].split("cost")[0]
        assert size_column.strip() == remedy, lines[remedy]  # the remedy alone: no amount, no "None"
        assert "None" not in lines[remedy]
    assert "$50" in lines["travel_credit"].split("cost")[0]  # a sized remedy keeps its amount


def test_options_json_gives_null_for_no_size(airline_env, capsys):
    argv = [
        "options",
        "--situation",
        "flight_cancellation",
        "--tier",
        "self_service",
        "--fact",
        "cause=weather",
        "--fact",
        "fare=200",
        "--json",
    ]
    assert main(argv) == 0
    offers = {o["remedy"]: o for o in json.loads(capsys.readouterr().out)["offers"]}
    assert (offers["rebooking"]["kind"], offers["rebooking"]["size"]) == ("none", None)
    assert offers["fare_refund"]["size"] == "200.00"
