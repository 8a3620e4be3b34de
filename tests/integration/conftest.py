from __future__ import annotations

import pytest

from makegood.db import make_engine, migrate
from makegood.ledger import Ledger, ProposalIn


@pytest.fixture
def engine(backend_url):
    engine = make_engine(backend_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger(engine):
    return Ledger(engine)


class Proposals:
    """Builds proposals for tests: `make(tier=..., requested_by=...)` logs a pending one."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.n = 0

    def make(self, tier="agent", requested_by="bot", status="pending", situation="damaged_item", **extra):
        self.n += 1
        values = dict(
            conversation_id=f"conv-{self.n}",
            turn_key="1",
            situation=situation,
            policy_version="test-v1",
            tier_required=tier,
            requested_by=requested_by,
            status=status,
            channel="rest",
            facts={"order_value": "80.00", "days_since_delivery": 3},
            options_offered=[{"remedy": "replacement", "size": "80.00"}],
            option_chosen=None if status == "offered" else {"remedy": "full_refund", "size": "80.00"},
        )
        values.update(extra)
        return self.ledger.log_proposal(ProposalIn(**values))


@pytest.fixture
def proposals(ledger):
    return Proposals(ledger)
