"""What goes into and comes out of the ledger: plain dataclasses, never ORM rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from makegood.policy.tiers import Tier

# Statuses. `escalated` is not one: escalation raises tier_required and stays `pending`.
OFFERED = "offered"  # options shown to the customer, nothing chosen yet
ACCEPTED = "accepted"  # the chosen option was within the proposer's own authority: done
PENDING = "pending"  # needs a decision at tier_required
APPROVED = "approved"
REJECTED = "rejected"
FINAL_STATUSES = (ACCEPTED, APPROVED, REJECTED)
LOGGABLE_STATUSES = (OFFERED, ACCEPTED, PENDING)

BOT = "bot"


@dataclass(frozen=True)
class ProposalIn:
    """A proposal as the bot (or an agent in the copilot) logs it.

    `(conversation_id, turn_key)` identifies it: logging the same pair twice returns the
    stored proposal unchanged. `facts`, `options_offered`, `option_chosen`, `customer_ask`
    and `context` are stored as JSON: Decimals become strings ("45.00"), enums their
    values, dataclasses (e.g. engine Options) dicts of their fields.
    """

    conversation_id: str
    turn_key: str
    situation: str
    policy_version: str
    tier_required: Tier | str
    channel: str = "rest"
    facts: Mapping[str, Any] = field(default_factory=dict)
    options_offered: Sequence[Any] = ()
    option_chosen: Any = None
    customer_ask: Any = None
    context: Mapping[str, Any] = field(default_factory=dict)
    requested_by: str = BOT
    status: str = OFFERED
    customer_id: str | None = None
    order_id: str | None = None


@dataclass(frozen=True)
class Decision:
    id: int
    actor: str
    role: str
    decision: str  # approve | cosign | reject | escalate
    tier: str  # tier_required when the decision was taken
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Review:
    id: int
    reviewer: str
    verdict: str  # upheld | overturned
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Proposal:
    """A stored proposal. JSON fields come back as stored (money as strings).

    `created` is True only on the value `log_proposal` returns when it inserted the row;
    False when the (conversation_id, turn_key) was already logged, and on every read.
    """

    public_id: str
    conversation_id: str
    turn_key: str
    channel: str
    situation: str
    customer_id: str | None
    order_id: str | None
    facts: dict[str, Any]
    options_offered: list[Any]
    option_chosen: Any
    customer_ask: Any
    context: dict[str, Any]
    policy_version: str
    tier_required: str
    requested_by: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    decisions: list[Decision] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    created: bool = field(default=False, compare=False)

    @property
    def tier(self) -> Tier:
        return Tier(self.tier_required)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int  # audit events walked
    problems: list[str]
    head_hash: str  # hash of the last event: anchor it elsewhere (makegood ledger anchor)
    anchors: int = 0  # anchored heads checked (makegood.ledger.anchor)
