"""Decision tables for the retail-bank pack (policy-packs/bank/), read like the policy.

Each row: who is acting, what we know, what that actor may offer (remedy, size, rule) best first,
and what policy allows only a higher tier to give (remedy, tier). Sizes are dollars (days for the
payment holiday; None for remedies with no size). Worked out by hand from the pack's YAML.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from makegood.policy import Case, Tier, check, load_catalog, options, plan_for

pytestmark = pytest.mark.unit

SS, AGENT, PEER, SUP, MGR = Tier.SELF_SERVICE, Tier.AGENT, Tier.PEER, Tier.SUPERVISOR, Tier.MANAGER
PACK = Path(__file__).parents[2] / "policy-packs" / "bank"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(PACK)


def row(tier, facts, offers, beyond=(), *, id):
    return pytest.param(tier, facts, offers, list(beyond), id=id)


def assert_row(catalog, situation, tier, facts, offers, beyond):
    result = options(catalog, Case.build(catalog, situation, facts), tier)
    assert [(o.remedy, o.size, o.rule) for o in result.offers] == [
        (r, None if s is None else (s if isinstance(s, int) and r == "payment_holiday" else Decimal(s)), rule)
        for r, s, rule in offers
    ]
    assert [(o.remedy, o.required_tier) for o in result.beyond] == beyond
    assert (result.handoff is None) == bool(offers)
    return result


def test_the_pack_is_one_policy_in_several_files(catalog):
    assert set(catalog.situation_ids) == {"fee_dispute", "service_failure", "early_closure", "missed_payment"}
    assert catalog.source == str(PACK)


# -- fee disputes: our error refunded in full; a courtesy refund of penalty fees (not on basic
#    accounts), Premier maintenance fees; free alerts and an explanation always.
FEES = [
    row(
        SS,
        {"fee_amount": 30, "fee_type": "overdraft"},
        [
            ("fee_refund", 30, "fee_dispute.courtesy"),
            ("fee_alerts", None, "fee_dispute.fee_alerts"),
            ("fee_explanation", None, "fee_dispute.fee_explanation"),
        ],
        id="$30 overdraft fee, standard account, bot: courtesy refund, alerts, explanation",
    ),
    row(
        SS,
        {"fee_amount": 45, "fee_type": "Late Payment"},
        [("fee_alerts", None, "fee_dispute.fee_alerts"), ("fee_explanation", None, "fee_dispute.fee_explanation")],
        [("fee_refund", AGENT)],
        id="$45 late fee, bot: the bot refunds up to $35, an agent can refund it",
    ),
    row(
        AGENT,
        {"fee_amount": 45, "fee_type": "late payment"},
        [
            ("fee_refund", 45, "fee_dispute.courtesy"),
            ("fee_alerts", None, "fee_dispute.fee_alerts"),
            ("fee_explanation", None, "fee_dispute.fee_explanation"),
        ],
        id="$45 late fee, agent: courtesy refund",
    ),
    row(
        AGENT,
        {"fee_amount": 120, "fee_type": "overdraft", "bank_error": True},
        [
            ("fee_refund", 120, "fee_dispute.bank_error"),
            ("fee_alerts", None, "fee_dispute.fee_alerts"),
            ("fee_explanation", None, "fee_dispute.fee_explanation"),
        ],
        id="$120 fee charged by our error, agent: refunded in full as a correction",
    ),
    row(
        SS,
        {"fee_amount": 30, "fee_type": "overdraft", "account_type": "basic"},
        [("fee_alerts", None, "fee_dispute.fee_alerts"), ("fee_explanation", None, "fee_dispute.fee_explanation")],
        id="basic account, bot: no courtesy refund, alerts and an explanation",
    ),
    row(
        SS,
        {"fee_amount": 15, "fee_type": "monthly maintenance", "account_type": "PREMIER"},
        [
            ("fee_refund", 15, "fee_dispute.premier_maintenance"),
            ("fee_alerts", None, "fee_dispute.fee_alerts"),
            ("fee_explanation", None, "fee_dispute.fee_explanation"),
        ],
        id="Premier maintenance fee $15, bot: refunded",
    ),
    row(
        SS,
        {"fee_amount": 20, "fee_type": "overdraft", "recent_exceptions": 1},
        [("fee_alerts", None, "fee_dispute.fee_alerts"), ("fee_explanation", None, "fee_dispute.fee_explanation")],
        [("fee_refund", AGENT)],
        id="second refund in a year, bot: an agent decides (the bot grants one a year)",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", FEES)
def test_fee_dispute(catalog, tier, facts, offers, beyond):
    assert_row(catalog, "fee_dispute", tier, facts, offers, beyond)


# -- service failures: costs paid back when we have them; goodwill $20 / $50 / $150 by how bad it
#    was; an agent up to $100, above that a supervisor.
GOODWILL = [
    row(
        SS, {"inconvenience": "minor"}, [("goodwill_credit", 20, "service_failure.minor")], id="minor, bot: $20 credit"
    ),
    row(SS, {"inconvenience": "moderate"}, [], [("goodwill_credit", AGENT)], id="moderate, bot: $50 needs an agent"),
    row(
        AGENT,
        {"inconvenience": "moderate", "out_of_pocket": 40},
        [
            ("cost_reimbursement", 40, "service_failure.cost_reimbursement"),
            ("goodwill_credit", 50, "service_failure.moderate"),
        ],
        id="moderate with $40 costs, agent: costs back and $50",
    ),
    row(
        AGENT,
        {"inconvenience": "serious"},
        [],
        [("goodwill_credit", SUP)],
        id="serious, agent: $150 is above the agent's $100, a supervisor approves",
    ),
    row(
        SUP,
        {"inconvenience": "serious"},
        [("goodwill_credit", 150, "service_failure.serious")],
        id="serious, supervisor: $150",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", GOODWILL)
def test_service_failure(catalog, tier, facts, offers, beyond):
    assert_row(catalog, "service_failure", tier, facts, offers, beyond)


def test_goodwill_outside_policy_goes_to_a_supervisor(catalog):
    case = Case.build(catalog, "service_failure", {"inconvenience": "minor"})
    verdict = check(catalog, case, "goodwill_credit", 5000, SS)
    assert verdict.status == "outside_policy" and verdict.handoff.tier == SUP
    assert [o.rule for o in verdict.alternatives] == ["service_failure.minor"]


# -- early closure: waived for hardship (a person confirms it), in full from five years, half from two.
CLOSURE = [
    row(
        SS,
        {"closure_fee": 80, "tenure_months": 30},
        [
            ("closure_fee_waiver", 40, "early_closure.two_years"),
            ("fee_explanation", None, "early_closure.fee_explanation"),
        ],
        id="2.5 years, $80 fee, bot: half waived",
    ),
    row(
        SS,
        {"closure_fee": 200, "tenure_months": 72},
        [("fee_explanation", None, "early_closure.fee_explanation")],
        [("closure_fee_waiver", AGENT)],
        id="6 years, $200 fee, bot: full waiver needs an agent (bot up to $100)",
    ),
    row(
        SS,
        {"closure_fee": 80, "tenure_months": 6},
        [("fee_explanation", None, "early_closure.fee_explanation")],
        id="6 months, bot: the fee stands, explained",
    ),
    row(
        AGENT,
        {"closure_fee": 300, "hardship": "Job Loss"},
        [
            ("closure_fee_waiver", 300, "early_closure.hardship"),
            ("fee_explanation", None, "early_closure.fee_explanation"),
        ],
        id="job loss, agent: waived whatever the tenure",
    ),
    row(
        SS,
        {"closure_fee": 300, "hardship": "bereavement"},
        [("fee_explanation", None, "early_closure.fee_explanation")],
        [("closure_fee_waiver", AGENT)],
        id="bereavement, bot: an agent confirms and waives",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", CLOSURE)
def test_early_closure(catalog, tier, facts, offers, beyond):
    assert_row(catalog, "early_closure", tier, facts, offers, beyond)


# -- missed payment: an arrangement (kind plan, sized by the arrears); the $25 late fee back from a
#    year's tenure; a payment holiday of up to 30 days from an agent (14) or a supervisor (30).
ARREARS = [
    row(
        SS,
        {"arrears": 600, "tenure_months": 24},
        [("arrangement", 600, "missed_payment.arrangement"), ("late_fee_refund", 25, "missed_payment.late_fee_refund")],
        [("payment_holiday", SUP)],
        id="$600 arrears, 2 years, bot: arrangement and late fee back; a 30-day holiday is a supervisor's",
    ),
    row(
        AGENT,
        {"arrears": 2000, "tenure_months": 3},
        [
            ("arrangement", 2000, "missed_payment.arrangement"),
            ("payment_holiday", 14, "missed_payment.payment_holiday"),
        ],
        [("payment_holiday", SUP)],
        id="$2,000 arrears, 3 months, agent: arrangement, 14-day holiday; no late fee back",
    ),
    row(
        SS,
        {"arrears": 1500, "tenure_months": 3},
        [],
        [("arrangement", AGENT), ("payment_holiday", SUP)],
        id="$1,500 arrears, bot: an arrangement that size needs an agent",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", ARREARS)
def test_missed_payment(catalog, tier, facts, offers, beyond):
    assert_row(catalog, "missed_payment", tier, facts, offers, beyond)


def test_arrangement_terms(catalog):
    assert plan_for(catalog, 600, 100, SS).status == "accepted"  # 6 weeks, inside the bot's 8
    counter = plan_for(catalog, 600, 50, SS)  # 12 weeks: too long for the bot
    assert counter.status == "counter" and counter.approval.required_tier == AGENT
