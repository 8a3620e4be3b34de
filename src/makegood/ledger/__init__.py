"""The proposal ledger: proposals, decisions, reviews and a tamper-evident audit chain.

    ledger = Ledger.from_url("sqlite:///var/makegood.db")       # migrates to head
    p = ledger.log_proposal(ProposalIn(conversation_id="c1", turn_key="3", situation="damaged_item",
                                       policy_version="ab12", tier_required="peer", status="pending", ...))
    p.created            # True when this call stored it; False when (conversation_id, turn_key) existed
    ledger.decide(p.public_id, actor="sam", role="agent", decision="cosign")
    ledger.verify().ok

Depends only on makegood.db, makegood.errors and makegood.policy.tiers (not on the engine).
"""

from makegood.ledger.ledger import Ledger, normalise_public_id
from makegood.ledger.model import (
    ACCEPTED,
    APPROVED,
    OFFERED,
    PENDING,
    REJECTED,
    Decision,
    Proposal,
    ProposalIn,
    Review,
    VerifyReport,
)
from makegood.ledger.rules import judge

__all__ = [
    "ACCEPTED",
    "APPROVED",
    "OFFERED",
    "PENDING",
    "REJECTED",
    "Decision",
    "Ledger",
    "Proposal",
    "ProposalIn",
    "Review",
    "VerifyReport",
    "judge",
    "normalise_public_id",
]
