"""The catalog validator, Case.build's fact checks, and Tier ordering.

The catalog is edited by business people: every mistake gets one PolicyError naming the file,
the key path and what was expected. Each broken catalog below is the real default catalog with
one thing changed.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from makegood.errors import CaseError, MakegoodError, PolicyError
from makegood.policy import SITUATIONS, Case, Tier, load_catalog, parse_catalog

pytestmark = pytest.mark.unit

POLICY = Path(__file__).parents[2] / "policy"
TEXT = (POLICY / "catalog.yml").read_text(encoding="utf-8")
DEFAULT = yaml.safe_load(TEXT)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(POLICY)


def dump(raw, sort_keys=False) -> str:
    return yaml.safe_dump(raw, sort_keys=sort_keys, allow_unicode=True)


def policy_error(mutate) -> str:
    raw = copy.deepcopy(DEFAULT)
    mutate(raw)
    with pytest.raises(PolicyError) as caught:
        parse_catalog(dump(raw), source="bad.yml")
    message = str(caught.value)
    assert message.startswith("bad.yml"), message  # names the file
    assert "\n" not in message and "Traceback" not in message  # one clear line
    return message


def rules(raw, situation):
    return raw["situations"][situation]["remedies"]


def test_the_default_catalog_is_valid_and_round_trips(catalog):
    assert set(catalog.situations) == set(SITUATIONS)
    assert parse_catalog(dump(DEFAULT), source="again.yml").version == catalog.version


def test_invalid_yaml_names_line_and_column():
    broken = TEXT.replace("currency: USD", "currency: [USD", 1)
    line = TEXT[: TEXT.index("currency: USD")].count("\n") + 1
    with pytest.raises(PolicyError) as caught:
        parse_catalog(broken, source="bad.yml")
    message = str(caught.value)
    assert message.startswith("bad.yml (line ") and "not valid YAML" in message
    reported = int(message.split("(line ")[1].split(",")[0])
    assert reported >= line  # YAML notices the open bracket where the flow list cannot go on
    with pytest.raises(PolicyError, match=r"^bad\.yml \(line 2, column 1\): not valid YAML: found character '\\t'"):
        parse_catalog("label: x\n\tfacts: 1\n", source="bad.yml")


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("", "top level: expected a mapping of keys, got nothing", id="empty file"),
        pytest.param("- a\n- b\n", "top level: expected a mapping of keys, got a list", id="a list"),
    ],
)
def test_a_catalog_that_is_not_a_mapping(text, expected):
    with pytest.raises(PolicyError, match=f"^bad.yml: {expected}"):
        parse_catalog(text, source="bad.yml")


def test_missing_catalog_file(tmp_path):
    with pytest.raises(PolicyError, match="policy catalog not found"):
        load_catalog(tmp_path)


BROKEN = [
    pytest.param(
        lambda raw: raw.update(colour="blue"), "bad.yml: top level: unknown key 'colour'", id="unknown top-level key"
    ),
    pytest.param(
        lambda raw: raw["situations"].update({"Broken-Heart": copy.deepcopy(raw["situations"]["damaged_item"])}),
        "bad.yml: situations.Broken-Heart: a situation id is 2 to 49 lower-case letters",
        id="a situation id that is not a plain lower-case name",
    ),
    pytest.param(
        lambda raw: raw.update(situations={}),
        "bad.yml: situations: the catalog declares no situations",
        id="no situations at all",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[1].update(remedy="hug"),
        "bad.yml: situations.damaged_item.remedies[1].remedy: unknown remedy 'hug'",
        id="unknown remedy",
    ),
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"]["eligible"][0].update(fact="days_since_delivry"),
        "bad.yml: situations.damaged_item.eligible[0].fact: unknown fact 'days_since_delivry'",
        id="unknown fact in an eligibility condition",
    ),
    pytest.param(
        lambda raw: rules(raw, "late_return")[2]["when"][0]["any"][1].update(fact="tenure"),
        "bad.yml: situations.late_return.remedies[2].when[0].any[1].fact: unknown fact 'tenure'",
        id="unknown fact nested in an any condition",
    ),
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"].update(needs=["order_value", "colour"]),
        "bad.yml: situations.damaged_item.needs[1]: unknown fact 'colour'",
        id="unknown fact in needs",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[1]["caps"]["agent"].update(max_amount=-5),
        "bad.yml: situations.damaged_item.remedies[1].caps.agent.max_amount: expected a non-negative number, got -5",
        id="negative cap",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[1]["caps"]["agent"].update(max_amount=20),
        "bad.yml: situations.damaged_item.remedies[1].caps: max_amount: agent (20) is below self_service (25)",
        id="agent cap below self-service cap",
    ),
    pytest.param(
        lambda raw: rules(raw, "late_delivery")[1]["caps"]["manager"].update(max_percent=50),
        "bad.yml: situations.late_delivery.remedies[1].caps: max_percent: manager (50) is below supervisor (60)",
        id="manager percent below supervisor percent",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[0]["caps"].pop("peer"),
        "bad.yml: situations.damaged_item.remedies[0].caps: peer is not listed but self_service is",
        id="a tier in the middle left out of a rule's caps",
    ),
    pytest.param(
        lambda raw: raw["tiers"]["agent"].pop("max_recent_exceptions"),
        "bad.yml: tiers: max_recent_exceptions: peer (4) is below agent (no limit)",
        id="unlimited agent above a limited peer",
    ),
    pytest.param(
        lambda raw: raw["tiers"]["peer"].update(max_recent_exceptions=1),
        "bad.yml: tiers: max_recent_exceptions: peer (1) is below agent (3)",
        id="peer frequency below agent",
    ),
    pytest.param(
        lambda raw: rules(raw, "late_return")[2]["when"][0]["any"][0].update({"in": ["gold", "diamond"]}),
        "bad.yml: situations.late_return.remedies[2].when[0].any[0].in: 'diamond' is not a value of membership",
        id="enum condition with a value not in the enum",
    ),
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"]["eligible"].append({"fact": "membership", "is": "vip"}),
        "bad.yml: situations.damaged_item.eligible[1].is: 'vip' is not a value of membership",
        id="enum 'is' with a value not in the enum",
    ),
    pytest.param(
        lambda raw: rules(raw, "service_outage")[1].pop("id"),
        "bad.yml: situations.service_outage.remedies: two rules are both called 'service_outage.service_credit'",
        id="duplicate rule ids",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[1]["caps"]["agent"].update(max_amount="lots"),
        "bad.yml: situations.damaged_item.remedies[1].caps.agent.max_amount: "
        "expected a non-negative number, got 'lots'",
        id="a word where a cap amount is expected",
    ),
    pytest.param(
        lambda raw: raw["tiers"]["agent"].update(max_recent_exceptions="three"),
        "bad.yml: tiers.agent.max_recent_exceptions: expected a whole number >= 0, got 'three'",
        id="a word where a count is expected",
    ),
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"]["eligible"][0].update(max="a month"),
        "bad.yml: situations.damaged_item.eligible[0].max: expected a non-negative number, got 'a month'",
        id="a word where a condition bound is expected",
    ),
    pytest.param(
        lambda raw: raw.pop("payment_plans"),
        "bad.yml: payment_plans: a situation offers payment_plan but the catalog has no payment_plans section",
        id="payment_plan without a payment_plans section",
    ),
    pytest.param(
        lambda raw: raw["payment_plans"]["max_weeks"].update(peer=20),
        "bad.yml: payment_plans: max_weeks: peer (20) is below agent (26)",
        id="plan weeks not monotonic",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[0]["caps"].update(boss={"max_amount": 1}),
        "bad.yml: situations.damaged_item.remedies[0].caps: unknown tier 'boss'",
        id="unknown tier",
    ),
    pytest.param(
        lambda raw: rules(raw, "late_return")[0]["caps"]["agent"].update(max_amount=10),
        "bad.yml: situations.late_return.remedies[0].caps.agent: unknown key 'max_amount'; allowed: max_days",
        id="a money cap on a remedy counted in days",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[1]["amount"].update(of="customer_at_fault"),
        "bad.yml: situations.damaged_item.remedies[1].amount.of: fact 'customer_at_fault' is a bool, not a number",
        id="a percent of a yes/no fact",
    ),
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"].update(fair_ask_remedy="keep_item"),
        "bad.yml: situations.damaged_item.fair_ask_remedy: 'keep_item' is not one of this situation's remedies",
        id="fair-ask remedy not in the situation",
    ),
    # Structure where a name is expected: one clear error, not a TypeError from deep inside the loader.
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"].update(needs=[["order_value"]]),
        "bad.yml: situations.damaged_item.needs[0]: expected a name, got a list",
        id="a list in needs",
    ),
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"].update(needs="order_value"),
        "bad.yml: situations.damaged_item.needs: expected a list, got text 'order_value'",
        id="needs as text, not a list",
    ),
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"]["eligible"][0].update(fact=["days_since_delivery"]),
        "bad.yml: situations.damaged_item.eligible[0].fact: expected a name, got a list",
        id="a list as a condition's fact",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[1].update(remedy={"partial_refund": 1}),
        "bad.yml: situations.damaged_item.remedies[1].remedy: expected a name, got a mapping",
        id="a mapping as a remedy name",
    ),
    pytest.param(
        lambda raw: rules(raw, "damaged_item")[1]["amount"].update(of=[]),
        "bad.yml: situations.damaged_item.remedies[1].amount.of: expected a name, got a list",
        id="a list as a percent's base",
    ),
    pytest.param(
        lambda raw: raw["situations"]["damaged_item"].update(fair_ask_remedy={}),
        "bad.yml: situations.damaged_item.fair_ask_remedy: expected a name, got a mapping",
        id="a mapping as the fair-ask remedy",
    ),
    pytest.param(
        lambda raw: raw["facts"]["membership"].update(values=3),
        "bad.yml: facts.membership.values: expected a list, got 3",
        id="enum values not a list",
    ),
    pytest.param(
        lambda raw: raw["facts"]["membership"].update(default="bronze"),
        "bad.yml: facts.membership.default: fact membership must be one of standard, silver, gold, platinum",
        id="an enum default not in the enum",
    ),
]


@pytest.mark.parametrize("mutate, expected", BROKEN)
def test_a_broken_catalog_gets_one_clear_error(mutate, expected):
    assert policy_error(mutate).startswith(expected)


# -- the policy version ------------------------------------------------------------------------


def test_version_ignores_comments_and_key_order(catalog):
    assert catalog.version.startswith("pv-")
    sorted_text = dump(DEFAULT, sort_keys=True)
    assert sorted_text != dump(DEFAULT)
    commented = "# reviewed by finance\n" + TEXT.replace("handoff_tier: agent", "handoff_tier: agent  # who reviews")
    reordered = dict(reversed(list(DEFAULT.items())))
    versions = {parse_catalog(text, source="x.yml").version for text in (sorted_text, commented, dump(reordered))}
    assert versions == {catalog.version}


def test_version_changes_when_a_number_changes(catalog):
    raw = copy.deepcopy(DEFAULT)
    rules(raw, "damaged_item")[1]["caps"]["agent"]["max_amount"] = 76
    assert parse_catalog(dump(raw), source="x.yml").version != catalog.version
    raw["payment_plans"]["min_weekly"] = 11
    rules(raw, "damaged_item")[1]["caps"]["agent"]["max_amount"] = 75
    assert parse_catalog(dump(raw), source="x.yml").version != catalog.version


# -- Case.build: facts typed by the catalog, or one clear error -------------------------------------


def test_case_build_types_and_defaults(catalog):
    case = Case.build(
        catalog,
        "damaged_item",
        {"order_value": "$1,080.5", "days_since_delivery": "3", "customer_at_fault": "no", "membership": " Gold "},
    )
    assert case.get("order_value") == Decimal("1080.50") and isinstance(case.get("order_value"), Decimal)
    assert case.get("days_since_delivery") == 3 and case.get("customer_at_fault") is False
    assert case.get("membership") == "gold"
    assert case.get("recent_exceptions") == 0 and case.get("tenure_days") == 0  # catalog defaults
    assert case.get("days_late") is None  # no default: missing, not zero
    assert Case.build(catalog, "damaged_item", {"order_value": "", "days_late": None}).get("order_value") is None


@pytest.mark.parametrize(
    "situation, facts, message",
    [
        pytest.param(
            "broken_heart",
            {},
            "unknown situation 'broken_heart'; known situations: billing_error, damaged_item",
            id="unknown situation lists the known ones",
        ),
        pytest.param(
            "damaged_item",
            {"colour": "red"},
            "unknown fact 'colour'; known facts: customer_at_fault",
            id="unknown fact",
        ),
        pytest.param("damaged_item", {"order_value": "-5"}, "fact order_value cannot be negative", id="negative money"),
        pytest.param(
            "damaged_item",
            {"order_value": "1000000.01"},
            "fact order_value of 1000000.01 is beyond any case",
            id="absurd money",
        ),
        pytest.param(
            "damaged_item", {"order_value": "NaN"}, "fact order_value must be a finite amount", id="NaN money"
        ),
        pytest.param(
            "damaged_item", {"order_value": True}, "fact order_value must be an amount of money", id="a yes/no as money"
        ),
        pytest.param(
            "damaged_item",
            {"days_since_delivery": "a week"},
            "fact days_since_delivery must be a whole number",
            id="non-numeric days",
        ),
        pytest.param(
            "damaged_item",
            {"days_since_delivery": "2.5"},
            "fact days_since_delivery must be a whole number",
            id="fractional days",
        ),
        pytest.param(
            "damaged_item",
            {"days_since_delivery": 4000},
            "fact days_since_delivery must be between 0 and 3650",
            id="days beyond ten years",
        ),
        pytest.param(
            "damaged_item",
            {"customer_at_fault": "maybe"},
            "fact customer_at_fault must be true or false",
            id="'maybe' for a yes/no",
        ),
        pytest.param(
            "damaged_item",
            {"membership": "diamond"},
            "fact membership must be one of standard, silver",
            id="membership not in the enum",
        ),
    ],
)
def test_case_build_rejects_bad_facts(catalog, situation, facts, message):
    with pytest.raises(CaseError) as caught:
        Case.build(catalog, situation, facts)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, MakegoodError)


def test_absurd_money_boundary(catalog):
    assert Case.build(catalog, "billing_error", {"disputed_amount": "1000000"}).get("disputed_amount") == Decimal(
        1000000
    )


# -- tiers ---------------------------------------------------------------------------------------


def test_tier_order_is_authority_not_alphabetical():
    order = [Tier.SELF_SERVICE, Tier.AGENT, Tier.PEER, Tier.SUPERVISOR, Tier.MANAGER]
    assert list(Tier.ordered()) == order
    backwards = order[::-1]
    assert sorted(backwards) == order
    assert sorted(t.value for t in order) != [t.value for t in order]  # alphabetical would be wrong
    assert Tier.SELF_SERVICE < Tier.AGENT < Tier.PEER < Tier.SUPERVISOR < Tier.MANAGER
    assert Tier.MANAGER > Tier.SELF_SERVICE and Tier.AGENT >= Tier.AGENT and not Tier.AGENT > Tier.PEER
    assert max(Tier.AGENT, Tier.SELF_SERVICE) is Tier.AGENT and min(order) is Tier.SELF_SERVICE


def test_tier_is_not_compared_with_text():
    with pytest.raises(TypeError):
        Tier.AGENT < "self_service"  # noqa: B015 - the comparison itself is what is tested


def test_tier_parse():
    assert Tier.parse(" Supervisor ") is Tier.SUPERVISOR
    with pytest.raises(CaseError, match="unknown authority tier 'boss'; expected one of: self_service, agent, peer"):
        Tier.parse("boss")


def test_an_ordinary_when_condition_must_say_what_the_customer_is_told():
    def mutate(raw):
        raw["situations"]["late_delivery"]["ordinary_when"] = [{"fact": "days_late", "max": 0}]

    assert "situations.late_delivery.ordinary_when[0]: needs a `reason:`" in policy_error(mutate)
