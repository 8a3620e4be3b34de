"""Never a bare "no": any response in the domain that refuses, or says something went
wrong, also gives the customer a way forward (a question to answer, options, or a person)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.actions

REFUSAL = re.compile(
    r"\b(can't|cannot|couldn't|unable|not able|won't|didn't|having trouble|more than I can|doesn't)\b", re.I
)
WAY_FORWARD = re.compile(r"\?|\b(agent|person|colleague|options?|here is what|here's what|I'll|you can)\b", re.I)


def test_every_refusing_response_offers_a_way_forward(domain):
    refusing = {}
    for name, variations in domain["responses"].items():
        if name.endswith("_apology"):
            continue  # acknowledgements, never said alone: see the next test
        for variation in variations:
            text = variation.get("text", "")
            if REFUSAL.search(text):
                refusing[name] = text
                assert WAY_FORWARD.search(text), f"{name} refuses without a way forward: {text!r}"
    # The check must be looking at something: these responses do refuse, and are covered.
    assert {
        "utter_beyond_authority",
        "utter_order_not_found",
        "utter_service_trouble",
        "utter_out_of_scope",
        "utter_default",
    } <= set(refusing)


def test_a_refusal_is_always_followed_by_options_or_a_person_in_the_same_turn(services, domain):
    """The one response that says "more than I can approve" is never the last thing said."""
    from actions.case_form import ValidateCaseForm
    from actions.fair_ask import ActionJudgeAsk
    from tests.actions.conftest import run, said, tracker

    slots = {"situation": "late_cancellation", "order_id": "MG-10461"}
    run(ValidateCaseForm(), tracker(slots=slots), domain)
    messages, _ = run(
        ActionJudgeAsk(),
        tracker(
            text="I want $500 back",
            intent="propose_amount",
            user_turns=2,
            slots=slots,
            entities=[{"entity": "amount", "value": "500.00"}],
        ),
        domain,
    )
    names = said(messages)
    if "utter_beyond_authority" in names:
        after = names[names.index("utter_beyond_authority") + 1 :]
        assert any(n.startswith("utter_offer_") for n in after) and names[-1] == "utter_alternatives_outro"
    else:
        assert names == ["utter_handoff"]


def test_every_apology_is_followed_by_opening_the_case(domain):
    import yaml

    from tests.actions.conftest import ROOT

    rules = yaml.safe_load((ROOT / "data" / "rules" / "open_case.yml").read_text())["rules"]
    followed = {}
    for rule in rules:
        actions = [s.get("action") for s in rule["steps"] if "action" in s]
        for i, action in enumerate(actions):
            if action and action.endswith("_apology"):
                followed[action] = actions[i + 1 :]
    apologies = {name for name in domain["responses"] if name.endswith("_apology")}
    assert apologies and set(followed) == apologies
    assert all(after == ["case_form"] for after in followed.values())
