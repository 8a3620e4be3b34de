"""What needs this person, and what they may do with a proposal. Pure functions over ledger
Proposals; the ledger (makegood.ledger.rules) stays the authority on every decision, this only
decides what to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from makegood.ledger.model import APPROVED, PENDING
from makegood.ledger.rules import agreeing_people, same_person
from makegood.policy.tiers import Tier, tier_of_role

QUEUE_LIMIT = 500  # proposals read per status for one queue page


@dataclass
class Queue:
    needs_you: list = field(default_factory=list)
    waiting: list = field(default_factory=list)
    approved: list = field(default_factory=list)  # approved, tell the customer
    to_deliver: list = field(default_factory=list)  # rejected by this supervisor in a live chat, not told yet
    needs_title: str = "Needs you"
    review_link: bool = False
    read_only: bool = False


def _tier(p: Any) -> Tier:
    try:
        return Tier(p.tier_required)
    except ValueError:
        return Tier.MANAGER


def has_agreed(p: Any, name: str) -> bool:
    return any(same_person(name, x) for x in agreeing_people(p))


def requested_by(p: Any, name: str) -> bool:
    return same_person(p.requested_by, name)


def delivered(p: Any) -> bool:
    return bool((p.context or {}).get("delivered_by"))


def build_queue(
    name: str,
    role: str,
    ledger_role: str | None,
    pending: Sequence[Any],
    approved: Sequence[Any],
    to_deliver: Sequence[Any] = (),
) -> Queue:
    """The queue page of `name` (`role`), from pending and approved proposals (newest first), and
    the rejections `name` tells the customer themselves (services.delivery.denials_to_deliver)."""
    queue = Queue(review_link=role in ("reviewer", "supervisor", "admin"), to_deliver=list(to_deliver))
    if ledger_role is None:
        if role == "admin":  # sees everything, decides nothing
            queue.needs_title = "Everything pending"
            queue.needs_you = [p for p in pending if p.status == PENDING]
            queue.read_only = True
        return queue
    mine = [p for p in pending if p.status == PENDING and requested_by(p, name)]
    queue.waiting = mine + [
        p
        for p in pending
        if p.status == PENDING and not requested_by(p, name) and _tier(p) == Tier.PEER and has_agreed(p, name)
    ]
    others = [
        p
        for p in pending
        if p.status == PENDING and not requested_by(p, name) and not (_tier(p) == Tier.PEER and has_agreed(p, name))
    ]
    # What this person may settle: up to their own tier, and peer cases (a co-signature).
    authority = max(tier_of_role(ledger_role) or Tier.AGENT, Tier.PEER)
    queue.needs_you = [p for p in others if _tier(p) <= authority]
    queue.approved = [p for p in approved if p.status == APPROVED and requested_by(p, name) and not delivered(p)]
    return queue


@dataclass(frozen=True)
class Choice:
    decision: str  # approve | cosign | reject | escalate
    label: str
    style: str  # primary | danger | secondary


@dataclass
class Actions:
    choices: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # why some decisions are not offered
    can_mark_delivered: bool = False


def actions_for(p: Any, name: str, ledger_role: str | None) -> Actions:
    """The decide buttons to show `name` on `p`. Showing is a courtesy: the server passes
    whatever is posted to the ledger, which refuses what its rules do not allow."""
    out = Actions()
    if p.status == APPROVED and requested_by(p, name) and not delivered(p):
        out.can_mark_delivered = True
    if ledger_role is None or p.status != PENDING:
        return out
    tier = _tier(p)
    authority = tier_of_role(ledger_role) or Tier.AGENT  # policy/tiers.ROLE_TIERS: the one role -> tier table
    may_act = authority >= tier or (ledger_role == "agent" and tier == Tier.PEER)
    if may_act:
        if requested_by(p, name):
            out.notes.append("You requested this, so another person must approve it.")
        elif tier == Tier.PEER and ledger_role == "agent":
            if has_agreed(p, name):
                out.notes.append("You have co-signed this; a second agent must agree.")
            else:
                out.choices.append(Choice("cosign", "Co-sign", "primary"))
        else:
            out.choices.append(Choice("approve", "Approve", "primary"))
        out.choices.append(Choice("reject", "Reject", "danger"))
    else:
        out.notes.append(f"This needs {tier.a}'s decision; you can escalate it or leave it for them.")
    if tier < Tier.MANAGER:
        out.choices.append(Choice("escalate", "Escalate", "secondary"))
    return out
