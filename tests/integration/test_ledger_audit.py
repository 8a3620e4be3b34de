"""verify(): the audit chain catches edits and deletions made around the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.integration


@pytest.fixture
def busy(ledger, proposals):
    """A ledger with a bit of everything: approvals, a rejection, an escalation, an update, a review."""
    a = proposals.make(tier="peer")
    ledger.decide(a.public_id, "ann", "agent", "cosign")
    ledger.decide(a.public_id, "bob", "agent", "cosign")
    b = proposals.make(tier="agent")
    ledger.decide(b.public_id, "sam", "agent", "reject", note="outside policy")
    c = proposals.make(tier="supervisor")
    ledger.decide(c.public_id, "sam", "agent", "escalate")
    d = proposals.make(status="offered")
    ledger.update_proposal(d.public_id, status="pending", tier_required="agent", context_patch={"handoff": True})
    ledger.record_review(a.public_id, "rita", "upheld")
    return {"peer": ledger.get(a.public_id), "rejected": ledger.get(b.public_id), "escalated": ledger.get(c.public_id)}


def _sql(ledger, statement, **params) -> list:
    with ledger.engine.begin() as connection:
        result = connection.execute(text(statement), params)
        return result.all() if result.returns_rows else []


def test_an_empty_ledger_verifies(ledger):
    report = ledger.verify()
    assert (report.ok, report.checked, report.problems) == (True, 0, [])
    assert report.head_hash == "0" * 64


def test_a_clean_ledger_verifies(ledger, busy):
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.checked == 14


def test_head_hash_moves_with_every_write(ledger, proposals):
    before = ledger.verify().head_hash
    proposals.make()
    after = ledger.verify().head_hash
    assert after != before and ledger.verify().head_hash == after


def test_an_edited_proposal_row_is_caught(ledger, busy):
    pid = busy["peer"].public_id
    _sql(
        ledger,
        "UPDATE proposals SET facts = :facts WHERE public_id = :pid",
        facts='{"order_value": "8000.00"}',
        pid=pid,
    )
    report = ledger.verify()
    assert not report.ok
    assert len(report.problems) == 1
    assert pid in report.problems[0] and "facts changed outside the ledger" in report.problems[0]


def test_an_edited_status_is_caught(ledger, busy):
    pid = busy["rejected"].public_id
    _sql(ledger, "UPDATE proposals SET status = 'approved' WHERE public_id = :pid", pid=pid)
    [problem] = ledger.verify().problems
    assert pid in problem and "status changed" in problem


def test_a_deleted_decision_row_is_caught(ledger, busy):
    peer = busy["peer"]
    victim = peer.decisions[0].id
    _sql(ledger, "DELETE FROM decisions WHERE id = :id", id=victim)
    report = ledger.verify()
    assert not report.ok
    assert report.problems == [
        f"decision {victim} on {peer.public_id} is missing: it was deleted after audit "
        f"event {_event_of(ledger, 'decisions', victim)}"
    ]


def test_a_deleted_proposal_row_is_caught(ledger, busy):
    esc = busy["escalated"]
    _sql(
        ledger,
        "DELETE FROM decisions WHERE proposal_id = (SELECT id FROM proposals WHERE public_id = :pid)",
        pid=esc.public_id,
    )
    _sql(ledger, "DELETE FROM proposals WHERE public_id = :pid", pid=esc.public_id)
    problems = ledger.verify().problems
    assert any(p.startswith(f"proposal {esc.public_id}") and "is missing" in p for p in problems)
    assert any(p.startswith(f"decision {esc.decisions[0].id} on {esc.public_id} is missing") for p in problems)


def test_a_deleted_audit_event_is_caught(ledger, busy):
    _sql(ledger, "DELETE FROM audit_events WHERE id = 4")
    problems = ledger.verify().problems
    assert "audit event 4 is missing: ids jump from 3 to 5 (deleted from the chain)" in problems


def test_deleting_the_first_audit_event_is_caught(ledger, busy):
    _sql(ledger, "DELETE FROM audit_events WHERE id = 1")
    assert any("audit events 1 to 1 are missing" in p for p in ledger.verify().problems)


def test_an_edited_audit_payload_is_caught(ledger, busy):
    [(payload,)] = _sql(ledger, "SELECT payload FROM audit_events WHERE id = 2")
    _sql(ledger, "UPDATE audit_events SET payload = :p WHERE id = 2", p=payload.replace('"ann"', '"eve"'))
    problems = ledger.verify().problems
    assert any(p.startswith("audit event 2 (decision on ") and "hash does not match its content" in p for p in problems)


def test_a_rehashed_event_still_breaks_the_link_to_the_next(ledger, busy):
    from makegood.ledger.canonical import chain_hash

    [row] = _sql(ledger, "SELECT prev_hash, kind, payload, row_digest FROM audit_events WHERE id = 2")
    payload = row.payload.replace('"ann"', '"eve"')
    _sql(
        ledger,
        "UPDATE audit_events SET payload = :p, hash = :h WHERE id = 2",
        p=payload,
        h=chain_hash(row.prev_hash, row.kind, payload, row.row_digest),
    )
    problems = ledger.verify().problems
    assert any(p.startswith("audit event 3 ") and "prev_hash does not match the hash of event 2" in p for p in problems)


def test_a_row_written_around_the_ledger_is_caught(ledger, busy):
    peer = busy["peer"]
    _sql(
        ledger,
        "INSERT INTO decisions (proposal_id, actor, role, decision, tier, note, created_at) "
        "SELECT id, 'mallory', 'manager', 'approve', 'peer', '', created_at FROM proposals "
        "WHERE public_id = :pid",
        pid=peer.public_id,
    )
    [problem] = ledger.verify().problems
    assert f"on {peer.public_id} has no audit event" in problem


def _event_of(ledger, table, row_id):
    import json

    rows = _sql(ledger, "SELECT id, payload FROM audit_events ORDER BY id")
    return [
        r.id for r in rows if json.loads(r.payload)["table"] == table and json.loads(r.payload)["row"]["id"] == row_id
    ][-1]
