"""`makegood ledger decide` and `ledger review` take an identity the ledger can trust: an API
token resolved through the AccountStore (the account's name and role, never the caller's
word), or an explicit `--system NAME` recorded as "system:NAME" and limited to agent-tier
work. Plus the CLI's number parsing: "-1", NaN, inf, 1e309 and absurd amounts are one clear
line and exit 2. On SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from makegood.accounts import AccountStore
from makegood.cli import main
from makegood.db import make_engine, migrate
from makegood.ledger import Ledger, ProposalIn

pytestmark = pytest.mark.integration

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class World:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self.ledger = Ledger(self.engine)
        self.accounts = AccountStore(self.engine, hasher=FAST)
        self.tokens = {}
        for name, role in (
            ("alice", "agent"),
            ("bob", "agent"),
            ("sam", "supervisor"),
            ("rita", "reviewer"),
            ("ada", "admin"),
        ):
            self.accounts.add_user(name, role, f"{name}'s password")
            self.tokens[name] = self.accounts.issue_token(name)
        self.n = 0

    def proposal(self, tier="agent", requested_by="bot"):
        self.n += 1
        return self.ledger.log_proposal(
            ProposalIn(
                conversation_id=f"cli-{self.n}",
                turn_key="1",
                situation="damaged_item",
                policy_version="v1",
                tier_required=tier,
                requested_by=requested_by,
                status="pending",
                channel="rest",
                facts={"order_value": "80.00"},
                options_offered=[],
                option_chosen={"remedy": "full_refund", "size": "80"},
            )
        )


@pytest.fixture
def world(backend_url, monkeypatch):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", backend_url)
    monkeypatch.delenv("MAKEGOOD_TOKEN", raising=False)
    w = World(backend_url)
    yield w
    w.engine.dispose()


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in err, err
    return lines[0]


# -- who decides ------------------------------------------------------------------------------------
def test_a_name_on_the_command_line_is_no_longer_enough(world, capsys):
    p = world.proposal("agent")
    code, _, err = run(
        ["ledger", "decide", p.public_id, "--as", "anyone", "--role", "manager", "--decision", "approve"], capsys
    )
    assert code == 2 and "--as is gone" in one_error_line(err)
    code, _, err = run(["ledger", "decide", p.public_id, "--role", "manager", "--decision", "approve"], capsys)
    assert code == 2 and "needs an identity" in one_error_line(err)
    assert world.ledger.get(p.public_id).status == "pending" and not world.ledger.get(p.public_id).decisions


def test_a_token_decides_as_its_account_with_its_role(world, capsys):
    p = world.proposal("agent")
    code, _out, err = run(
        ["ledger", "decide", p.public_id, "--token", world.tokens["alice"], "--decision", "approve"], capsys
    )
    assert code == 0, err
    [d] = world.ledger.get(p.public_id).decisions
    assert (d.actor, d.role, d.decision) == ("alice", "agent", "approve")


def test_the_token_can_come_from_the_environment(world, capsys, monkeypatch):
    p = world.proposal("supervisor")
    monkeypatch.setenv("MAKEGOOD_TOKEN", world.tokens["sam"])
    code, _, err = run(["ledger", "decide", p.public_id, "--decision", "approve"], capsys)
    assert code == 0, err
    assert world.ledger.get(p.public_id).decisions[0].actor == "sam"
    assert world.ledger.get(p.public_id).status == "approved"


def test_role_must_match_the_account(world, capsys):
    p = world.proposal("supervisor")
    code, _, err = run(
        [
            "ledger",
            "decide",
            p.public_id,
            "--token",
            world.tokens["alice"],
            "--role",
            "manager",
            "--decision",
            "approve",
        ],
        capsys,
    )
    assert code == 2 and "does not match alice's role (agent)" in one_error_line(err)
    code, _, err = run(
        ["ledger", "decide", p.public_id, "--token", world.tokens["alice"], "--decision", "approve"], capsys
    )
    assert code == 2 and "needs a supervisor's decision" in one_error_line(err)  # the ledger's rule, as alice
    assert world.ledger.get(p.public_id).status == "pending"


@pytest.mark.parametrize("who", ["rita", "ada"])
def test_reviewers_and_admins_cannot_decide(world, capsys, who):
    p = world.proposal("agent")
    code, _, err = run(["ledger", "decide", p.public_id, "--token", world.tokens[who], "--decision", "approve"], capsys)
    assert code == 2 and "only agents and supervisors decide" in one_error_line(err)


def test_revoked_and_removed_tokens_are_refused(world, capsys):
    p = world.proposal("agent")
    world.accounts.revoke_tokens("alice")
    code, _, err = run(
        ["ledger", "decide", p.public_id, "--token", world.tokens["alice"], "--decision", "approve"], capsys
    )
    assert code == 2 and "token is not valid" in one_error_line(err)
    world.accounts.remove_user("bob")
    code, _, err = run(
        ["ledger", "decide", p.public_id, "--token", world.tokens["bob"], "--decision", "approve"], capsys
    )
    assert code == 2 and "token is not valid" in one_error_line(err)
    code, _, err = run(["ledger", "decide", p.public_id, "--token", "x" * 5000, "--decision", "approve"], capsys)
    assert code == 2 and "token is not valid" in one_error_line(err)


# -- system jobs ------------------------------------------------------------------------------------
def test_a_system_job_is_recorded_as_such(world, capsys):
    p = world.proposal("agent")
    code, _, err = run(
        [
            "ledger",
            "decide",
            p.public_id,
            "--system",
            "nightly-cleanup",
            "--decision",
            "reject",
            "--note",
            "stale: no answer in 30 days",
        ],
        capsys,
    )
    assert code == 0, err
    [d] = world.ledger.get(p.public_id).decisions
    assert (d.actor, d.role, d.decision) == ("system:nightly-cleanup", "agent", "reject")
    assert world.ledger.verify().ok


@pytest.mark.parametrize(
    "tier, decision", [("peer", "cosign"), ("peer", "approve"), ("supervisor", "approve"), ("manager", "reject")]
)
def test_a_system_job_cannot_decide_above_agent_tier(world, capsys, tier, decision):
    p = world.proposal(tier)
    code, _, err = run(
        ["ledger", "decide", p.public_id, "--system", "batch", "--decision", decision, "--note", "n"], capsys
    )
    assert code == 2 and "a system job may only approve or reject agent-tier" in one_error_line(err)
    assert not world.ledger.get(p.public_id).decisions


def test_a_system_job_may_escalate(world, capsys):
    p = world.proposal("peer")
    code, _, err = run(["ledger", "decide", p.public_id, "--system", "sla-timer", "--decision", "escalate"], capsys)
    assert code == 0, err
    assert world.ledger.get(p.public_id).tier_required == "supervisor"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--system", "Bad Name!"], "invalid user name"),
        (["--system", "batch", "--role", "supervisor"], "agent authority"),
        (["--system", "batch", "--token", "t"], "not both"),
    ],
)
def test_system_mode_bad_input(world, capsys, argv, message):
    p = world.proposal("agent")
    code, _, err = run(["ledger", "decide", p.public_id, *argv, "--decision", "approve"], capsys)
    assert code == 2 and message in one_error_line(err)


# -- reviews ----------------------------------------------------------------------------------------
def approved_peer(world):
    p = world.proposal("peer", requested_by="alice")
    world.ledger.decide(p.public_id, actor="bob", role="agent", decision="cosign")
    return p


def test_review_takes_the_reviewer_from_the_token(world, capsys):
    p = approved_peer(world)
    code, _, err = run(
        ["ledger", "review", p.public_id, "--token", world.tokens["rita"], "--verdict", "upheld"], capsys
    )
    assert code == 0, err
    assert world.ledger.get(p.public_id).reviews[0].reviewer == "rita"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--as", "rita"], "--as is gone"),
        ([], "needs the reviewer's identity"),
        (["--system", "bot"], "a review is a person's verdict"),
        (["--token", "nope"], "token is not valid"),
    ],
)
def test_review_without_a_trusted_reviewer_is_refused(world, capsys, argv, message):
    p = approved_peer(world)
    code, _, err = run(["ledger", "review", p.public_id, *argv, "--verdict", "upheld"], capsys)
    assert code == 2 and message in one_error_line(err)
    assert not world.ledger.get(p.public_id).reviews


def test_agents_cannot_review(world, capsys):
    p = approved_peer(world)
    code, _, err = run(
        ["ledger", "review", p.public_id, "--token", world.tokens["alice"], "--verdict", "upheld"], capsys
    )
    assert code == 2 and "only reviewers, supervisors and admins review" in one_error_line(err)


# -- numbers ----------------------------------------------------------------------------------------
CASE = ["--situation", "damaged_item", "--fact", "order_value=80", "--fact", "days_since_delivery=3"]
BAD_NUMBERS = [
    "-1",
    "-0",
    "0",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "1e3",
    "1_000",
    "0x10",
    "99999999999",
    "",
    "12abc",
    "1" * 400,
]


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("command", ["plan-debt", "plan-weekly", "check", "fair-ask-amount", "fair-ask-percent"])
def test_bad_numbers_are_one_line_and_exit_2(capsys, monkeypatch, tmp_path, command, value):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    argv = {
        "plan-debt": ["plan", "--debt", value, "--weekly", "25"],
        "plan-weekly": ["plan", "--debt", "600", "--weekly", value],
        "check": ["check", *CASE, "--remedy", "partial_refund", "--amount", value],
        "fair-ask-amount": ["fair-ask", *CASE, "--amount", value],
        "fair-ask-percent": ["fair-ask", *CASE, "--percent", value],
    }[command]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    line = one_error_line(err)
    flag = {
        "plan-debt": "--debt",
        "plan-weekly": "--weekly",
        "check": "--amount",
        "fair-ask-amount": "--amount",
        "fair-ask-percent": "--percent",
    }[command]
    assert flag in line


@pytest.mark.parametrize(
    "argv",
    [
        ["ledger", "list", "--limit", "-1"],
        ["ledger", "list", "--limit", "0"],
        ["ledger", "list", "--limit", "99999999999999999999999"],
        ["ledger", "review-sample", "-n", "-1"],
    ],
)
def test_list_sizes_are_positive_and_bounded(capsys, monkeypatch, tmp_path, argv):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    code, _out, err = run(argv, capsys)
    assert code == 2 and "whole number from 1 to 1000" in one_error_line(err)


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--debt", "600", "--weekly", "25"],
        ["plan", "--debt", "$1,200.50", "--weekly", "25.50"],
        ["fair-ask", *CASE, "--percent", "12.5"],
        ["check", *CASE, "--remedy", "partial_refund", "--amount", "20"],
    ],
)
def test_ordinary_numbers_still_work(capsys, argv):
    code, out, err = run(argv, capsys)
    assert code in (0, 1) and out.strip() and not err, err


def test_through_the_real_command_no_traceback(tmp_path):
    makegood = Path(sys.executable).with_name("makegood")
    env = {**os.environ, "MAKEGOOD_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    for argv in (
        ["plan", "--debt", "-1", "--weekly", "25"],
        ["ledger", "decide", "P-AAAAAA", "--as", "x", "--role", "manager", "--decision", "approve"],
    ):
        result = subprocess.run([str(makegood), *argv], capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_tokens_never_look_like_a_command_line_option(world):
    """Found on a fresh clone: a token starting with '-' made `--token TOKEN` an argparse error."""
    tokens = [world.accounts.issue_token("alice") for _ in range(200)]
    assert all(t.startswith("mg_") and not t.startswith("-") for t in tokens)
