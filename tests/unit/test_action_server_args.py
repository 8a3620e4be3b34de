"""The actions server's command line: how many workers, said clearly when wrong."""

from __future__ import annotations

import pytest

from makegood_rasa.action_server import MAX_WORKERS, WORKERS_ENV, parse_args


def test_workers_come_from_the_flag_or_the_environment(monkeypatch):
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert parse_args([]).workers == 1
    assert parse_args(["--workers", "3"]).workers == 3
    monkeypatch.setenv(WORKERS_ENV, "2")
    assert parse_args([]).workers == 2


@pytest.mark.parametrize("given", ["0", "-2", "two", str(MAX_WORKERS + 1)])
def test_an_impossible_worker_count_is_refused_with_a_reason(given, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--workers", given])
    assert "workers must be" in capsys.readouterr().err


def test_an_impossible_worker_count_in_the_environment_is_refused_too(monkeypatch, capsys):
    monkeypatch.setenv(WORKERS_ENV, "lots")
    with pytest.raises(SystemExit):
        parse_args([])
    assert "workers must be a whole number, not 'lots'" in capsys.readouterr().err
