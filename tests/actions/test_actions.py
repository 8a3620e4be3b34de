"""The bot's actions, one flow at a time, against the real domain and catalog."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ConversationPaused

from actions.case_form import ValidateCaseForm
from actions.fair_ask import ActionJudgeAsk
from actions.payment_plan import ActionPlanPayment
from actions.resolution import ActionAcceptOffer, ActionDeclineOffer
from makegood.policy import load_catalog
from makegood.services.bootstrap import Services, set_services
from tests.actions.conftest import ROOT, TODAY, opened, render, run, said, tracker

pytestmark = pytest.mark.actions


def slot_events(events):
    """The slots an action set, but the form's own bookkeeping (which slot it asks next)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot" and e["name"] != "requested_slot"}


def test_damaged_item_offers_three_options_inside_the_bots_authority(services, domain):
    messages, events = run(
        ValidateCaseForm(), tracker(slots={"situation": "damaged_item", "order_id": "MG-10422"}), domain
    )
    assert said(messages) == [
        "utter_offer_intro",
        "utter_offer_partial_refund",
        "utter_offer_store_credit",
        "utter_offer_goodwill_voucher",
        "utter_ask_choice",
        "utter_ask_what_is_fair",
    ]
    text = render(messages, domain)
    assert "1. $25 back to your original payment method." in text  # 30% of $129, capped at the bot's $25
    assert slot_events(events) == {"stage": "offered"}
    [proposal] = services.ledger.list(conversation_id="conv-1")
    assert (proposal.status, proposal.situation, proposal.tier_required, proposal.order_id) == (
        "offered",
        "damaged_item",
        "self_service",
        "MG-10422",
    )
    assert proposal.customer_id == "C-1001" and proposal.policy_version == services.catalog.version


def test_accepting_by_number_records_the_choice_and_thanks(services, domain):
    run(ValidateCaseForm(), tracker(slots={"situation": "damaged_item", "order_id": "MG-10422"}), domain)
    messages, events = run(
        ActionAcceptOffer(),
        tracker(
            text="the second one please",
            intent="choose_option",
            slots={"situation": "damaged_item", "order_id": "MG-10422", "stage": "offered"},
            user_turns=2,
        ),
        domain,
    )
    assert said(messages) == ["utter_resolution_confirmed", "utter_thank_customer"]
    assert "$30 in store credit" in render(messages, domain)[0]
    [proposal] = services.ledger.list(conversation_id="conv-1")
    assert proposal.status == "accepted" and proposal.option_chosen["remedy"] == "store_credit"
    assert slot_events(events) == {"stage": "resolved"}


def test_a_plain_yes_to_several_options_asks_which(services, domain):
    run(ValidateCaseForm(), tracker(slots={"situation": "damaged_item", "order_id": "MG-10422"}), domain)
    messages, _ = run(
        ActionAcceptOffer(),
        tracker(text="yes", intent="affirm", user_turns=2, slots={"situation": "damaged_item", "order_id": "MG-10422"}),
        domain,
    )
    assert said(messages) == ["utter_ask_which_option"]
    assert services.ledger.list(conversation_id="conv-1")[0].status == "offered"


def test_fair_ask_inside_authority_is_accepted(services, domain):
    slots = {"situation": "fee_dispute", "order_id": "MG-10421", "disputed_amount": "35"}
    run(ValidateCaseForm(), tracker(slots=slots), domain)
    messages, _ = run(
        ActionJudgeAsk(),
        tracker(text="I think 20 would be fair", intent="propose_amount", slots=slots, user_turns=2),
        domain,
    )
    assert said(messages) == ["utter_resolution_confirmed", "utter_thank_customer"]
    accepted = [p for p in services.ledger.list(conversation_id="conv-1") if p.status == "accepted"]
    assert accepted and accepted[0].option_chosen["size"] == "20.00" and accepted[0].customer_ask["size"] == "20.00"


def test_a_demand_beyond_authority_gets_three_alternatives_then_a_person(services, domain):
    slots = {"situation": "damaged_item", "order_id": "MG-10422"}
    run(ValidateCaseForm(), tracker(slots=slots), domain)
    messages, _ = run(
        ActionJudgeAsk(),
        tracker(
            text="I want $129 back",
            intent="propose_amount",
            user_turns=2,
            slots=slots,
            entities=[{"entity": "amount", "value": "129.00"}],
        ),
        domain,
    )
    offers = [r for r in said(messages) if r.startswith("utter_offer_")]
    assert said(messages)[0] == "utter_beyond_authority" and len(offers) == 3
    assert said(messages)[-1] == "utter_alternatives_outro"  # says a colleague can approve more
    messages, events = run(
        ActionJudgeAsk(),
        tracker(
            text="no, $129 or nothing",
            intent="propose_amount",
            user_turns=3,
            slots=slots,
            entities=[{"entity": "amount", "value": "129.00"}],
        ),
        domain,
    )
    assert said(messages) == ["utter_handoff"]
    assert any(e.get("event") == "pause" for e in events)
    pending = [p for p in services.ledger.list(conversation_id="conv-1") if p.status == "pending"]
    assert len(pending) == 1
    packet = pending[0].context
    assert pending[0].tier_required == "peer"  # $129 as a partial refund is a peer decision
    assert packet["customer_ask"]["size"] == "129.00" and packet["offered"] and packet["rules_cited"]


def test_payment_plan_from_what_the_customer_can_afford(services, domain):
    slots = {"situation": "missed_payment", "order_id": "MG-10421", "debt_amount": "240"}
    messages, events = run(ValidateCaseForm(), tracker(slots=slots), domain)
    assert said(messages) == ["utter_ask_affordability"] and slot_events(events) == {"stage": "asked_afford"}
    messages, _ = run(
        ActionPlanPayment(),
        tracker(
            text="I can do 25 a week",
            intent="afford_amount",
            user_turns=2,
            slots=slots,
            entities=[{"entity": "amount", "value": "25.00"}, {"entity": "frequency", "value": "week"}],
        ),
        domain,
    )
    assert said(messages) == ["utter_plan_accepted"]
    assert "$25 a week for 10 weeks" in render(messages, domain)[0]
    messages, _ = run(ActionAcceptOffer(), tracker(text="yes", intent="affirm", user_turns=3, slots=slots), domain)
    assert said(messages)[0] == "utter_resolution_confirmed"
    chosen = next(p for p in services.ledger.list(conversation_id="conv-1") if p.status == "accepted").option_chosen
    assert (chosen["remedy"], chosen["weekly"], chosen["weeks"]) == ("payment_plan", "25.00", 10)


def test_a_weekly_figure_too_small_gets_compliant_plans_and_the_approval_route(services, domain):
    slots = {"situation": "missed_payment", "order_id": "MG-10421", "debt_amount": "600"}
    run(ValidateCaseForm(), tracker(slots=slots), domain)
    messages, _ = run(
        ActionPlanPayment(),
        tracker(
            text="maybe 25 a week",
            intent="afford_amount",
            user_turns=2,
            slots=slots,
            entities=[{"entity": "amount", "value": "25.00"}],
        ),
        domain,
    )
    assert said(messages)[0] == "utter_plan_counter"
    assert "utter_plan_needs_approval" in said(messages) and said(messages)[-1] == "utter_ask_choice"


def test_declining_shows_other_options_then_hands_off(services, domain):
    slots = {"situation": "damaged_item", "order_id": "MG-10422"}
    run(ValidateCaseForm(), tracker(slots=slots), domain)
    messages, events = run(
        ActionDeclineOffer(),
        tracker(text="no", intent="deny", slots={**slots, "stage": "offered"}, user_turns=2),
        domain,
    )
    # All three things the bot may give here were shown, so "no" goes to a person, not to a dead end.
    assert said(messages) == ["utter_handoff"]
    assert any(e.get("event") == "pause" for e in events)


def test_declining_shows_what_else_the_bot_may_offer(services, domain):
    slots = {"situation": "late_delivery", "order_id": "MG-10441"}  # 14 days late, $1,249
    first, _ = run(ValidateCaseForm(), tracker(slots=slots), domain)
    messages, events = run(
        ActionDeclineOffer(),
        tracker(text="no", intent="deny", slots={**slots, "stage": "offered"}, user_turns=2),
        domain,
    )
    assert said(messages) == ["utter_alternatives_intro", "utter_offer_goodwill_voucher", "utter_alternatives_outro"]
    assert not set(said(messages)) & {r for r in said(first) if r.startswith("utter_offer_")}
    assert slot_events(events) == {"stage": "alternatives_offered"}


def test_slot_injection_cannot_change_authority_or_company_facts(services, domain):
    # Dev Patel (MG-10452) already had 3 exceptions this quarter: beyond what the bot may grant.
    injected = {
        "situation": "damaged_item",
        "order_id": "MG-10452",
        "stage": "resolved",
        "membership": "platinum",
        "order_value": "5",
        "recent_exceptions": "0",
        "tier": "manager",
    }
    messages, _events = run(
        ValidateCaseForm(),
        tracker(
            slots=injected,
            entities=[{"entity": "membership", "value": "platinum"}, {"entity": "tier", "value": "manager"}],
        ),
        domain,
    )
    assert said(messages) == ["utter_handoff"]
    [proposal] = services.ledger.list(conversation_id="conv-1")
    assert proposal.facts["membership"] == "silver" and proposal.facts["recent_exceptions"] == 3
    assert proposal.facts["order_value"] == "74.99"
    assert proposal.tier_required != "self_service"


def test_unknown_order_is_asked_again_not_refused(services, domain):
    messages, events = run(
        ValidateCaseForm(), tracker(slots={"situation": "lost_package", "order_id": "MG-99999"}), domain
    )
    assert said(messages) == ["utter_order_not_found"]
    assert slot_events(events) == {"order_id": None}


def test_the_database_going_away_gives_a_graceful_handoff(domain, tmp_path):
    from makegood.customers import InMemoryCustomerStore
    from makegood.ledger import Ledger

    catalog = load_catalog(ROOT / "policy")
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'gone.db'}")
    ledger.engine.dispose()
    (tmp_path / "gone.db").unlink()
    (tmp_path / "gone.db").mkdir()  # the file is now a directory: every query fails
    set_services(
        Services(catalog, ledger, InMemoryCustomerStore.demo(TODAY), today=lambda: TODAY, chat_identity="open")
    )
    try:
        messages, events = run(
            ValidateCaseForm(), tracker(slots={"situation": "damaged_item", "order_id": "MG-10422"}), domain
        )
    finally:
        set_services(None)
    # Nothing could be saved, so the bot says so and stays available: a paused chat with no
    # case behind it would wait for a person who never comes.
    assert said(messages) == ["utter_service_trouble"]
    assert not [e for e in events if e.get("event") == "pause"]


def test_a_failing_move_hands_over_only_when_the_handoff_is_really_saved(services, domain, monkeypatch):
    from makegood.services.bot.resolution import Assistant

    def broken(self, turn):
        raise RuntimeError("a bug in the move")

    monkeypatch.setattr(Assistant, "propose", broken)
    messages, events = run(
        ValidateCaseForm(), tracker(slots={"situation": "damaged_item", "order_id": "MG-10422"}), domain
    )
    assert said(messages) == ["utter_service_trouble_saved"]
    assert events[-1] == ConversationPaused()
    reference = messages[0]["proposal_id"]
    saved = services.ledger.get(reference)
    assert saved.status == "pending" and saved.context["reason"] == "system trouble in proposing a resolution"


@pytest.mark.parametrize("situation", load_catalog(ROOT / "policy").situation_ids)
def test_every_situation_ends_in_an_offer_a_question_or_a_person(services, domain, situation):
    """Never a bare no: for every demo order, whatever the case, the bot's turn offers something,
    asks for something, or hands over to a person."""
    from makegood.customers import demo_data

    _, orders, _ = demo_data(TODAY)
    for order in orders:
        slots = {
            "situation": situation,
            "order_id": order.id,
            "disputed_amount": "35",
            "debt_amount": "300",
            "price_difference": "20",
            "outage_hours": "30",
        }
        messages, _ = run(ValidateCaseForm(), tracker(sender=f"{situation}-{order.id}", slots=slots), domain)
        last = said(messages)[-1]
        # utter_not_an_exception: nothing is wrong (an order not late yet), said with the reason and
        # with the way to a person still open.
        assert last in {
            "utter_ask_choice",
            "utter_ask_what_is_fair",
            "utter_ask_affordability",
            "utter_handoff",
            "utter_not_an_exception",
        }, (
            order.id,
            said(messages),
        )


def test_opening_a_case_keeps_facts_from_the_opening_message(services, domain):
    _messages, events = run(
        ValidateCaseForm(),
        opened(
            tracker(
                text="I was charged $49.99 twice on order MG-10421",
                intent="billing_error",
                entities=[{"entity": "amount", "value": "49.99"}, {"entity": "order_id", "value": "MG-10421"}],
            )
        ),
        domain,
    )
    slots = slot_events(events)
    assert slots["situation"] == "billing_error" and slots["order_id"] == "MG-10421"
    assert slots["disputed_amount"] == "49.99" and slots["debt_amount"] is None


@pytest.mark.parametrize(
    "situation, expected",
    [
        ("damaged_item", ["order_id"]),
        # Nothing to look up before judging: only the problem; the order (whose account) is
        # asked when something is granted.
        ("fee_dispute", ["disputed_amount"]),
        ("missed_payment", ["debt_amount"]),
        ("price_drop", ["order_id", "price_difference"]),
        ("service_outage", ["order_id", "outage_hours"]),
    ],
)
def test_the_form_asks_only_what_the_policy_needs(services, domain, situation, expected):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    asked = asyncio.run(
        ValidateCaseForm().required_slots([], CollectingDispatcher(), tracker(slots={"situation": situation}), domain)
    )
    assert asked == expected


def test_every_response_an_action_can_say_exists_in_the_domain(domain):
    import re

    used = set()
    for path in list((ROOT / "actions").glob("*.py")) + list((ROOT / "src" / "makegood" / "assistant").glob("*.py")):
        used |= set(re.findall(r'"(utter_[a-z_]+)"', path.read_text()))
    catalog = load_catalog(ROOT / "policy")
    used |= {f"utter_offer_{remedy}" for remedy in catalog.remedies}
    missing = sorted(u for u in used if u not in domain["responses"])
    assert not missing, f"responses used by actions but missing from the domain: {missing}"
