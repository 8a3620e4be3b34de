"""Who may decide what: the approval rules, as a pure function over a proposal.

Roles that decide: agent, supervisor, manager. Their authority: an agent decides
agent-tier proposals and takes part in peer ones ("two agents agree"); a supervisor
decides up to supervisor; a manager decides everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from makegood.errors import LedgerError
from makegood.ledger.model import ACCEPTED, APPROVED, BOT, OFFERED, PENDING, REJECTED, Proposal
from makegood.policy.tiers import ROLE_TIERS, Tier

DECIDING_ROLES: dict[str, Tier] = ROLE_TIERS
DECISIONS = ("approve", "cosign", "reject", "escalate")
AGREEING = ("approve", "cosign")


@dataclass(frozen=True)
class Outcome:
    decision: str
    actor: str
    role: str
    note: str
    status: str  # the proposal's status afterwards
    tier_required: Tier  # the proposal's tier afterwards


def same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _a(role: str) -> str:
    return f"{'an' if role[0] in 'aeiou' else 'a'} {role}"


def next_tier(tier: Tier) -> Tier:
    order = Tier.ordered()
    return order[order.index(tier) + 1]


def not_pending_reason(p: Proposal) -> str:
    if p.status in (APPROVED, REJECTED):
        return f"{p.public_id} is already {p.status}"
    if p.status == ACCEPTED:
        who = "the bot" if same_person(p.requested_by, BOT) else p.requested_by
        return (
            f"{p.public_id} is already accepted: the chosen option was within {who}'s own "
            f"authority, so it needs no decision"
        )
    if p.status == OFFERED:
        return f"{p.public_id} is still an offer to the customer: nothing has been chosen that needs a decision"
    return f"{p.public_id} is {p.status}, not pending"


def agreeing_people(p: Proposal) -> list[str]:
    """The different agents who agree with a peer-tier proposal so far: the requester when
    an agent asked, then everyone who approved or co-signed as an agent."""
    people: list[str] = []
    if p.requested_by.strip() and not same_person(p.requested_by, BOT):
        people.append(p.requested_by.strip())
    for d in p.decisions:
        if d.decision in AGREEING and d.role == "agent" and not any(same_person(d.actor, x) for x in people):
            people.append(d.actor)
    return people


def judge(p: Proposal, actor: str, role: str, decision: str, note: str = "") -> Outcome:
    """What `decision` by `actor` (as `role`) does to `p`; a LedgerError naming the rule when refused."""
    actor = (actor or "").strip()
    role = (role or "").strip().lower()
    decision = (decision or "").strip().lower()
    note = (note or "").strip()
    pid = p.public_id
    if not actor:
        raise LedgerError("a decision needs the name of the person taking it")
    if role not in DECIDING_ROLES:
        raise LedgerError(f"the role {role!r} cannot decide proposals; only an agent, a supervisor or a manager can")
    if decision not in DECISIONS:
        raise LedgerError(f"unknown decision {decision!r}; expected approve, cosign, reject or escalate")
    if p.status != PENDING:
        raise LedgerError(not_pending_reason(p))

    tier = Tier(p.tier_required)
    authority = DECIDING_ROLES[role]

    if decision == "escalate":
        if tier >= Tier.MANAGER:
            raise LedgerError(f"{pid} is already at the highest tier (manager); it cannot be escalated further")
        return Outcome(decision, actor, role, note, PENDING, next_tier(tier))

    may_act = authority >= tier or (role == "agent" and tier == Tier.PEER)
    if not may_act:
        verb = "reject" if decision == "reject" else "approve"
        raise LedgerError(
            f"{pid} needs {tier.a}'s decision: {actor} is {_a(role)} and cannot {verb} it; "
            f"escalate it or pass it to {tier.a}"
        )

    if decision == "reject":
        if not note:
            raise LedgerError(
                f"rejecting {pid} needs a note: the reason is recorded so the customer can be offered alternatives"
            )
        return Outcome(decision, actor, role, note, REJECTED, tier)

    # approve or cosign
    if same_person(actor, p.requested_by):
        raise LedgerError(f"{actor} requested {pid} and cannot approve or co-sign it too; another person must agree")
    if tier == Tier.PEER and role == "agent":
        people = agreeing_people(p)
        if any(same_person(actor, x) for x in people):
            raise LedgerError(
                f"{actor} has already co-signed {pid}; peer approval needs two different agents, "
                f"so a second agent must agree"
            )
        status = APPROVED if len(people) + 1 >= 2 else PENDING
        return Outcome(decision, actor, role, note, status, tier)
    return Outcome(decision, actor, role, note, APPROVED, tier)
