"""Sampling peer-approved decisions for review, and recording the reviewer's verdict."""

from __future__ import annotations

import pytest

from makegood.errors import LedgerError

pytestmark = pytest.mark.integration


@pytest.fixture
def peer_approved(ledger, proposals):
    ids = []
    for i in range(6):
        p = proposals.make(tier="peer", requested_by=f"agent{i}")
        ids.append(ledger.decide(p.public_id, "checker", "agent", "cosign").public_id)
    return ids


def test_the_sample_is_approved_peer_proposals_only(ledger, proposals, peer_approved):
    agent_tier = proposals.make(tier="agent")
    ledger.decide(agent_tier.public_id, "sam", "agent", "approve")
    proposals.make(tier="peer")  # pending
    rejected = proposals.make(tier="peer")
    ledger.decide(rejected.public_id, "sam", "agent", "reject", note="no")
    sample = ledger.review_sample(100, seed=7)
    assert sorted(p.public_id for p in sample) == sorted(peer_approved)
    assert all(p.status == "approved" and p.tier_required == "peer" for p in sample)


def test_the_sample_is_deterministic_with_a_seed(ledger, peer_approved):
    first = [p.public_id for p in ledger.review_sample(3, seed=42)]
    assert len(first) == 3 and len(set(first)) == 3
    assert [p.public_id for p in ledger.review_sample(3, seed=42)] == first
    assert ledger.review_sample(0, seed=42) == []


def test_reviewed_proposals_leave_the_sample(ledger, peer_approved):
    done = ledger.record_review(peer_approved[0], "rita", "upheld", note="within policy")
    assert [(r.reviewer, r.verdict, r.note) for r in done.reviews] == [("rita", "upheld", "within policy")]
    remaining = {p.public_id for p in ledger.review_sample(100, seed=1)}
    assert peer_approved[0] not in remaining and len(remaining) == 5
    assert ledger.verify().ok


def test_review_rules(ledger, proposals, peer_approved):
    pid = peer_approved[0]
    with pytest.raises(LedgerError, match="unknown verdict 'fine'"):
        ledger.record_review(pid, "rita", "fine")
    with pytest.raises(LedgerError, match=r"overturning .* needs a note"):
        ledger.record_review(pid, "rita", "overturned")
    with pytest.raises(LedgerError, match=r"checker took part in .* cannot review it"):
        ledger.record_review(pid, "checker", "upheld")
    with pytest.raises(LedgerError, match="agent0 took part"):
        ledger.record_review(pid, "agent0", "upheld")
    ledger.record_review(pid, "rita", "overturned", note="a replacement was enough")
    with pytest.raises(LedgerError, match=r"already reviewed by rita \(overturned\)"):
        ledger.record_review(pid, "ron", "upheld")
    pending = proposals.make(tier="peer")
    with pytest.raises(LedgerError, match=r"only approved peer-tier proposals are reviewed; .* is pending at peer"):
        ledger.record_review(pending.public_id, "rita", "upheld")
    agent = proposals.make(tier="agent")
    ledger.decide(agent.public_id, "sam", "agent", "approve")
    with pytest.raises(LedgerError, match="is approved at agent tier"):
        ledger.record_review(agent.public_id, "rita", "upheld")
    with pytest.raises(LedgerError, match="no proposal P-NOPE"):
        ledger.record_review("P-NOPE", "rita", "upheld")
