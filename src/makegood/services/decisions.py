"""A human decision on a proposal: approve, co-sign, reject or escalate.

The ledger judges who may decide (ledger.rules); when the decision approves, the ledger's
grant guard (services.grants) applies the cumulative limits and records the grant in the
customer's history in the same transaction — so an approval from the desk and one from the
CLI count the same, and an approval over a limit is refused with the limit named.
"""

from __future__ import annotations

from makegood.services.bootstrap import Services


def decide(
    services: Services,
    public_id: str,
    *,
    actor: str,
    role: str,
    decision: str,
    note: str = "",
    expected_version: int | None = None,
):
    return services.ledger.decide(
        public_id, actor=actor, role=role, decision=decision, note=note, expected_version=expected_version
    )
