"""A small ledger whose every figure is worked out by hand (tests/unit/test_analytics.py says how).

Six cases, written through the ledger's own API (log, decide, review) at fixed times, under the
real catalog (policy/catalog.yml). No customer id, so no grant is recorded in a customer store:
the figures come from the ledger alone.

    P1 damaged_item  bot    Mon 2 Nov 10:00  asks partial_refund $20, accepted (the bot may give $25)
    P2 damaged_item  bot    Mon 2 Nov 11:00  asks $60: handed off at peer; alice and bob co-sign at
                                             13:00 and 15:00 (4 h); rita upholds
    P3 damaged_item  bot    Tue 3 Nov 09:00  asks $40: handed off at agent; alice escalates to peer at
                                             09:30, sam rejects at 11:00 (2 h)
    P4 late_delivery bot    Tue 10 Nov 08:00 shipping_upgrade $12 chosen, accepted (nothing asked)
    P5 late_delivery alice  Wed 11 Nov 12:00 asks store_credit $60 for a $200 order: pending at peer
                                             (alice counts as the first agent); bob co-signs at 15:00
                                             (3 h); rita overturns
    P6 damaged_item  bot    Thu 12 Nov 16:00 offered only: nothing asked, nothing chosen
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from unittest import mock

from makegood.ledger import ProposalIn

DAMAGED = {"order_value": "100.00", "days_since_delivery": 3}
LATE_BOT = {"order_value": "80.00", "days_late": 5}
LATE_AGENT = {"order_value": "200.00", "days_late": 5}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = at(1, 0)

    def __call__(self) -> datetime:
        return self.now


@contextlib.contextmanager
def frozen_ledger_clock() -> Iterator[Clock]:
    """The ledger stamps rows with its own clock: pin it so the times are the ones above."""
    clock = Clock()
    with mock.patch("makegood.ledger.ledger._now", clock):
        yield clock


def _ask(remedy: str, size: str) -> dict[str, str]:
    return {"remedy": remedy, "size": size}


def seed(ledger: Any, policy_version: str, prefix: str = "seed") -> dict[str, str]:
    """Write the six cases; returns their public ids by name (P1..P6)."""
    ids: dict[str, str] = {}

    def log(name: str, when: datetime, clock: Clock, **fields: Any) -> None:
        clock.now = when
        values = {
            "conversation_id": f"{prefix}-{name}",
            "turn_key": "1",
            "policy_version": policy_version,
            "channel": "rest",
            **fields,
        }
        ids[name] = ledger.log_proposal(ProposalIn(**values)).public_id

    def decide(name: str, when: datetime, clock: Clock, actor: str, role: str, decision: str, note: str = "") -> None:
        clock.now = when
        ledger.decide(ids[name], actor=actor, role=role, decision=decision, note=note)

    with frozen_ledger_clock() as clock:
        log(
            "P1",
            at(2, 10),
            clock,
            situation="damaged_item",
            facts=DAMAGED,
            customer_ask=_ask("partial_refund", "20.00"),
            option_chosen=_ask("partial_refund", "20.00"),
            tier_required="self_service",
            status="accepted",
        )
        log(
            "P2",
            at(2, 11),
            clock,
            situation="damaged_item",
            facts=DAMAGED,
            customer_ask=_ask("partial_refund", "60.00"),
            option_chosen=_ask("partial_refund", "60.00"),
            context={"reason": "customer insists on $60"},
            tier_required="peer",
            status="pending",
        )
        decide("P2", at(2, 13), clock, "alice", "agent", "cosign")
        decide("P2", at(2, 15), clock, "bob", "agent", "cosign")
        clock.now = at(3, 8)
        ledger.record_review(ids["P2"], reviewer="rita", verdict="upheld")

        log(
            "P3",
            at(3, 9),
            clock,
            situation="damaged_item",
            facts=DAMAGED,
            customer_ask=_ask("partial_refund", "40.00"),
            option_chosen=_ask("partial_refund", "40.00"),
            context={"reason": "customer insists on $40"},
            tier_required="agent",
            status="pending",
        )
        decide("P3", at(3, 9, 30), clock, "alice", "agent", "escalate")
        decide("P3", at(3, 11), clock, "sam", "supervisor", "reject", "a replacement is on its way")

        log(
            "P4",
            at(10, 8),
            clock,
            situation="late_delivery",
            facts=LATE_BOT,
            option_chosen=_ask("shipping_upgrade", "12.00"),
            tier_required="self_service",
            status="accepted",
        )
        log(
            "P5",
            at(11, 12),
            clock,
            situation="late_delivery",
            facts=LATE_AGENT,
            customer_ask=_ask("store_credit", "60.00"),
            option_chosen=_ask("store_credit", "60.00"),
            tier_required="peer",
            status="pending",
            requested_by="alice",
            channel="copilot",
        )
        decide("P5", at(11, 15), clock, "bob", "agent", "cosign")
        clock.now = at(12, 9)
        ledger.record_review(ids["P5"], reviewer="rita", verdict="overturned", note="store credit of $50 was enough")

        log(
            "P6",
            at(12, 16),
            clock,
            situation="damaged_item",
            facts=DAMAGED,
            tier_required="self_service",
            status="offered",
        )
    return ids
