"""A trained model loads and parses from any working directory (the spaCy pipeline's path no
longer depends on the project root). Runs after make test has trained the model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

MODEL = Path(__file__).resolve().parents[2] / "models" / "makegood.tar.gz"


def test_trained_model_loads_and_parses_from_another_directory(tmp_path, monkeypatch):
    from rasa.core.agent import Agent

    assert MODEL.is_file(), f"no trained model at {MODEL}: run make train"
    monkeypatch.chdir(tmp_path)
    agent = Agent.load(str(MODEL))
    parsed = asyncio.run(agent.parse_message("you charged me twice for order MG-10421"))
    assert parsed["intent"]["name"]
    assert any(e["entity"] == "order_id" for e in parsed["entities"])
