"""Who may decide what. Each refusal is a LedgerError naming the rule."""

from __future__ import annotations

import pytest

from makegood.errors import LedgerError

pytestmark = pytest.mark.integration


# -- agent tier -------------------------------------------------------------------------------------
def test_an_agent_approves_an_agent_tier_proposal(ledger, proposals):
    p = proposals.make(tier="agent")
    done = ledger.decide(p.public_id, actor="sam", role="agent", decision="approve", note="fine")
    assert (done.status, done.version) == ("approved", 2)
    [d] = done.decisions
    assert (d.actor, d.role, d.decision, d.tier, d.note) == ("sam", "agent", "approve", "agent", "fine")


def test_a_decided_proposal_cannot_be_decided_again(ledger, proposals):
    p = proposals.make(tier="agent")
    ledger.decide(p.public_id, "sam", "agent", "approve")
    with pytest.raises(LedgerError, match=rf"^{p.public_id} is already approved$"):
        ledger.decide(p.public_id, "kim", "supervisor", "reject", note="too late")
    r = proposals.make(tier="agent")
    ledger.decide(r.public_id, "sam", "agent", "reject", note="outside the return window")
    with pytest.raises(LedgerError, match="is already rejected"):
        ledger.decide(r.public_id, "sam", "agent", "approve")


def test_offered_and_accepted_proposals_need_no_decision(ledger, proposals):
    offered = proposals.make(status="offered")
    with pytest.raises(LedgerError, match="still an offer to the customer"):
        ledger.decide(offered.public_id, "sam", "agent", "approve")
    accepted = proposals.make(status="accepted", tier="self_service")
    with pytest.raises(LedgerError, match="already accepted: the chosen option was within the bot's own authority"):
        ledger.decide(accepted.public_id, "sam", "agent", "approve")


def test_nobody_approves_their_own_request(ledger, proposals):
    p = proposals.make(tier="agent", requested_by="sam")
    with pytest.raises(LedgerError, match=r"Sam requested .* and cannot approve or co-sign it too"):
        ledger.decide(p.public_id, "Sam", "agent", "approve")


# -- peer tier: two different agents agree ----------------------------------------------------------
def test_peer_requested_by_the_bot_needs_two_different_agents(ledger, proposals):
    p = proposals.make(tier="peer")
    first = ledger.decide(p.public_id, "ann", "agent", "cosign")
    assert first.status == "pending"
    with pytest.raises(LedgerError, match=r"ann has already co-signed .*two different agents"):
        ledger.decide(p.public_id, "ann", "agent", "approve")
    with pytest.raises(LedgerError, match="ANN has already co-signed"):
        ledger.decide(p.public_id, "ANN", "agent", "cosign")  # names compare without case
    second = ledger.decide(p.public_id, "bob", "agent", "cosign")
    assert second.status == "approved"
    assert [d.actor for d in second.decisions] == ["ann", "bob"]


def test_peer_requested_by_an_agent_needs_one_cosign_by_someone_else(ledger, proposals):
    p = proposals.make(tier="peer", requested_by="alice")
    with pytest.raises(LedgerError, match=r"alice requested .* cannot approve or co-sign it too"):
        ledger.decide(p.public_id, "alice", "agent", "cosign")
    done = ledger.decide(p.public_id, "bob", "agent", "cosign")
    assert done.status == "approved"


@pytest.mark.parametrize("role", ["supervisor", "manager"])
def test_a_supervisor_or_manager_satisfies_peer_alone(ledger, proposals, role):
    p = proposals.make(tier="peer")
    assert ledger.decide(p.public_id, "kim", role, "approve").status == "approved"


def test_agents_may_reject_peer_tier(ledger, proposals):
    p = proposals.make(tier="peer")
    done = ledger.decide(p.public_id, "ann", "agent", "reject", note="the damage was reported after 30 days")
    assert done.status == "rejected" and done.decisions[0].note == "the damage was reported after 30 days"


# -- supervisor and manager tiers -------------------------------------------------------------------
@pytest.mark.parametrize("decision", ["approve", "cosign", "reject"])
def test_an_agent_cannot_decide_a_supervisor_tier_proposal(ledger, proposals, decision):
    p = proposals.make(tier="supervisor")
    with pytest.raises(
        LedgerError,
        match=r"needs a supervisor's decision: ann is an agent and cannot .* "
        r"escalate it or pass it to a supervisor",
    ):
        ledger.decide(p.public_id, "ann", "agent", decision, note="no")
    assert ledger.get(p.public_id).status == "pending"


def test_supervisor_tier_is_decided_by_a_supervisor_or_manager(ledger, proposals):
    p = proposals.make(tier="supervisor")
    assert ledger.decide(p.public_id, "kim", "supervisor", "approve").status == "approved"
    q = proposals.make(tier="supervisor")
    assert ledger.decide(q.public_id, "max", "manager", "approve").status == "approved"


def test_manager_tier_needs_a_manager(ledger, proposals):
    p = proposals.make(tier="manager")
    with pytest.raises(LedgerError, match="needs a manager's decision: kim is a supervisor"):
        ledger.decide(p.public_id, "kim", "supervisor", "approve")
    assert ledger.decide(p.public_id, "max", "manager", "approve").status == "approved"


# -- reject, escalate -------------------------------------------------------------------------------
def test_reject_needs_a_note(ledger, proposals):
    p = proposals.make(tier="agent")
    with pytest.raises(LedgerError, match=r"rejecting .* needs a note: the reason is recorded"):
        ledger.decide(p.public_id, "sam", "agent", "reject", note="   ")
    assert ledger.get(p.public_id).decisions == []


def test_escalation_raises_the_tier_one_step_and_stays_pending(ledger, proposals):
    p = proposals.make(tier="agent")
    steps = []
    for actor, role in [("sam", "agent"), ("ann", "agent"), ("kim", "supervisor")]:
        p = ledger.decide(p.public_id, actor, role, "escalate", note="beyond me")
        steps.append((p.tier_required, p.status))
    assert steps == [("peer", "pending"), ("supervisor", "pending"), ("manager", "pending")]
    with pytest.raises(LedgerError, match="already at the highest tier"):
        ledger.decide(p.public_id, "max", "manager", "escalate")
    assert [d.tier for d in p.decisions] == ["agent", "peer", "supervisor"]


def test_an_agent_escalates_what_they_cannot_approve(ledger, proposals):
    p = proposals.make(tier="supervisor")
    up = ledger.decide(p.public_id, "ann", "agent", "escalate")
    assert (up.tier_required, up.status) == ("manager", "pending")


def test_cosigns_before_an_escalation_do_not_approve_above_peer(ledger, proposals):
    p = proposals.make(tier="peer")
    ledger.decide(p.public_id, "ann", "agent", "cosign")
    ledger.decide(p.public_id, "bob", "agent", "escalate", note="customer is upset, supervisor please")
    with pytest.raises(LedgerError, match="needs a supervisor's decision"):
        ledger.decide(p.public_id, "cat", "agent", "cosign")


# -- who and what -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "actor, role, decision, message",
    [
        ("rita", "reviewer", "approve", "the role 'reviewer' cannot decide proposals"),
        ("adam", "admin", "reject", "the role 'admin' cannot decide proposals"),
        ("sam", "agent", "maybe", "unknown decision 'maybe'"),
        ("  ", "agent", "approve", "needs the name of the person"),
    ],
)
def test_unknown_roles_decisions_and_anonymous_actors_are_refused(ledger, proposals, actor, role, decision, message):
    p = proposals.make(tier="agent")
    with pytest.raises(LedgerError, match=message):
        ledger.decide(p.public_id, actor, role, decision, note="x")


def test_decisions_are_audited(ledger, proposals):
    p = proposals.make(tier="peer")
    ledger.decide(p.public_id, "ann", "agent", "cosign")
    ledger.decide(p.public_id, "bob", "agent", "cosign")
    report = ledger.verify()
    assert report.ok and report.checked == 5  # logged + 2 x (decision + status_changed)
