"""Prometheus metrics on the real stack: the actions server counts and times every action it
runs, the desk every route, both behind their tokens, with bounded labels."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def get(url: str, headers: dict | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def cli(servers, *args: str) -> str:
    makegood = str(Path(sys.executable).parent / "makegood")
    done = subprocess.run([makegood, *args], env=servers.env(), capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_actions_server_counts_each_action_it_runs_behind_its_token(servers, bot):
    sender = bot.new_sender("metrics")
    bot.say(sender, "the dinner set from order MG-10422 arrived smashed to pieces")
    actions = servers.urls["actions"]
    status, _ = get(f"{actions}/metrics")
    assert status == 401
    status, body = get(f"{actions}/metrics?token=" + urllib.parse.quote(servers.actions_token))
    assert status == 200
    runs = [line for line in body.splitlines() if line.startswith("makegood_action_runs_total{")]
    assert any('action="validate_case_form"' in line and 'outcome="ok"' in line for line in runs), runs
    assert "makegood_action_seconds_bucket" in body
    assert 'makegood_proposals_logged_total{situation="damaged_item"' in body
    assert sender not in body  # no conversation id ever becomes a label


def test_the_desk_serves_its_metrics_to_admins_only(servers):
    desk = servers.urls["desk"]
    cli(servers, "users", "seed-demo")
    admin, agent = cli(servers, "users", "token", "ada"), cli(servers, "users", "token", "alice")
    get(f"{desk}/health")
    assert get(f"{desk}/api/metrics")[0] == 401
    assert get(f"{desk}/api/metrics", {"Authorization": f"Bearer {agent.split()[-1]}"})[0] == 403
    status, body = get(f"{desk}/api/metrics", {"Authorization": f"Bearer {admin.split()[-1]}"})
    assert status == 200
    assert 'makegood_desk_requests_total{route="/health",status="2xx"}' in body, body[:2000]
