"""Two people deciding at once: exactly one wins, the other is told to reload."""

from __future__ import annotations

import threading

import pytest

from makegood.errors import DecisionConflict, LedgerError
from makegood.ledger import ProposalIn

pytestmark = pytest.mark.integration


def _race(*calls):
    """Run the calls in threads released together by a barrier; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [], []
    lock = threading.Lock()

    def run(call):
        barrier.wait()
        try:
            value = call()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return results, errors


def test_two_racing_approvals_one_wins_the_other_conflicts(ledger, proposals):
    p = proposals.make(tier="agent")
    seen = ledger.get(p.public_id).version  # both people are looking at the same version
    results, errors = _race(
        lambda: ledger.decide(p.public_id, "sam", "agent", "approve", expected_version=seen),
        lambda: ledger.decide(p.public_id, "ann", "agent", "reject", note="no", expected_version=seen),
    )
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], DecisionConflict)
    assert str(errors[0]) == f"{p.public_id} was decided by someone else a moment ago; reload it"
    final = ledger.get(p.public_id)
    assert len(final.decisions) == 1 and final.version == 2
    assert final.status == results[0].status
    assert ledger.verify().ok


def test_two_agents_cosigning_at_once_cannot_both_be_the_first(ledger, proposals):
    p = proposals.make(tier="peer")  # requested by the bot: needs two agents
    seen = p.version
    results, errors = _race(
        lambda: ledger.decide(p.public_id, "ann", "agent", "cosign", expected_version=seen),
        lambda: ledger.decide(p.public_id, "bob", "agent", "cosign", expected_version=seen),
    )
    assert len(results) == 1 and [type(e) for e in errors] == [DecisionConflict]
    assert ledger.get(p.public_id).status == "pending"
    loser = "bob" if results[0].decisions[0].actor == "ann" else "ann"
    assert ledger.decide(p.public_id, loser, "agent", "cosign").status == "approved"


def test_racing_without_a_seen_version_still_lets_exactly_one_win(ledger, proposals):
    p = proposals.make(tier="agent")
    results, errors = _race(
        *[(lambda who=who: ledger.decide(p.public_id, who, "agent", "approve")) for who in ("sam", "ann", "joe")]
    )
    assert len(results) == 1 and len(errors) == 2
    # Lost the race after reading (DecisionConflict) or read the decided proposal ("already approved").
    assert all(isinstance(e, LedgerError) for e in errors)
    assert len(ledger.get(p.public_id).decisions) == 1


def test_concurrent_writers_never_fork_the_audit_chain(ledger):
    def log(i):
        return lambda: ledger.log_proposal(
            ProposalIn(
                conversation_id=f"c{i}",
                turn_key="1",
                situation="late_delivery",
                policy_version="v",
                tier_required="agent",
                status="pending",
            )
        )

    results, errors = _race(*[log(i) for i in range(8)])
    assert errors == [] and len(results) == 8
    more, errors = _race(*[(lambda p=p: ledger.decide(p.public_id, "kim", "supervisor", "approve")) for p in results])
    assert errors == [] and len(more) == 8
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.checked == 8 + 8 * 2
