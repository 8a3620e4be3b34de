"""The hardening findings on the bot's side, each as it was found: the same remedy taken again
and again, turn keys reused after /restart, absurd asks, a plan nobody may offer, "-1"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actions.case_form import ValidateCaseForm
from actions.fair_ask import ActionJudgeAsk
from actions.payment_plan import ActionPlanPayment
from actions.resolution import ActionAcceptOffer
from tests.actions.conftest import run, said, tracker

pytestmark = pytest.mark.actions

CASE = {"situation": "damaged_item", "order_id": "MG-10422"}


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _take_first_option(domain, sender: str) -> list[str]:
    run(ValidateCaseForm(), tracker(sender=sender, slots=CASE), domain)
    messages, _ = run(
        ActionAcceptOffer(),
        tracker(sender=sender, text="1", intent="choose_option", slots=dict(CASE, stage="offered"), user_turns=2),
        domain,
    )
    return said(messages)


def test_one_order_never_gets_the_same_remedy_twice_from_the_bot(services, domain):
    """Found: one customer took the bot's $25 refund on one $129 order 101 times."""
    assert _take_first_option(domain, "chat-1")[0] == "utter_resolution_confirmed"
    first = services.ledger.list(conversation_id="chat-1")[0].option_chosen["remedy"]
    for n in range(2, 8):
        _take_first_option(domain, f"chat-{n}")
    granted = [e for e in services.customers.exceptions_for("C-1001") if e.order_id == "MG-10422" and e.remedy]
    remedies = [e.remedy for e in granted]
    assert remedies.count(first) == 1, remedies  # once per order, whoever asks and however often
    assert len(remedies) == len(set(remedies))
    assert sum(e.amount for e in granted) <= Decimal("129.00")  # never more back than the order cost


def test_every_grant_counts_towards_the_customers_exceptions(services, domain):
    """Found: menu picks never carried counts_as_exception, so the history stayed empty."""
    before = services.customers.known_facts("C-1001", None, today=services.today(), period_days=90)
    _take_first_option(domain, "chat-a")
    after = services.customers.known_facts("C-1001", None, today=services.today(), period_days=90)
    assert after["recent_exceptions"] == before["recent_exceptions"] + 1


def test_the_bot_stops_at_its_exceptions_per_period_and_hands_over(services, domain):
    """self_service may grant at most two exceptions per customer per 90 days (catalog tiers)."""
    confirmed = 0
    for n in range(5):
        names = _take_first_option(domain, f"chat-p{n}")
        confirmed += names[0] == "utter_resolution_confirmed"
    assert confirmed <= 2
    facts = services.customers.known_facts("C-1001", None, today=services.today(), period_days=90)
    assert facts["recent_exceptions"] <= 2
    # The later chats were not refused bare: a person has each of them.
    last = services.ledger.list(conversation_id="chat-p4")
    assert last and last[0].status in ("pending", "offered")


def test_a_restart_starts_a_new_case_with_keys_of_its_own(services, domain):
    """Found: after /restart a pick was recorded against the previous case's order and the
    new case was never logged (the tracker replays only the new session, so turns restart at 1)."""
    first_session = [{"event": "session_started", "timestamp": 1000.0}]
    second_session = [{"event": "session_started", "timestamp": 2000.0}]

    def turn(events, **kw):
        trk = tracker(sender="same-sender", **kw)
        trk.events = events + trk.events
        return trk

    run(ValidateCaseForm(), turn(first_session, slots=CASE), domain)
    other = {"situation": "late_delivery", "order_id": "MG-10431"}
    run(ValidateCaseForm(), turn(second_session, slots=other), domain)
    messages, _ = run(
        ActionAcceptOffer(),
        turn(second_session, text="1", intent="choose_option", slots=dict(other, stage="offered"), user_turns=2),
        domain,
    )
    assert said(messages)[0] == "utter_resolution_confirmed"
    proposals = services.ledger.list(conversation_id="same-sender")
    assert {p.order_id for p in proposals} == {"MG-10422", "MG-10431"}
    accepted = [p for p in proposals if p.status == "accepted"]
    assert [p.order_id for p in accepted] == ["MG-10431"]
    old = next(p for p in proposals if p.order_id == "MG-10422")
    assert old.status == "offered"  # the previous case was not touched by the new session's pick


@pytest.mark.parametrize("ask", ["I think $2,000,000 would be fair", "-5", "NaN", "1e309"])
def test_an_absurd_ask_gets_a_plain_answer_and_the_chat_goes_on(services, domain, ask):
    """Found: an absurd ask paused the chat with "a person will pick up" and nothing in the queue."""
    run(ValidateCaseForm(), tracker(slots=CASE), domain)
    entities = [{"entity": "amount", "value": ask.split()[-4] if "$" in ask else ask}]
    messages, events = run(
        ActionJudgeAsk(),
        tracker(text=ask, intent="propose_amount", slots=CASE, user_turns=2, entities=entities),
        domain,
    )
    names = said(messages)
    assert names[0] in ("utter_ask_out_of_range", "utter_amount_not_understood", "utter_beyond_authority"), names
    assert not any(e.get("event") == "pause" for e in events)  # nobody was promised a person
    assert all(p.status != "accepted" for p in services.ledger.list(conversation_id="conv-1"))


def test_a_balance_no_plan_of_the_bot_fits_is_handed_to_a_person_with_a_queue_entry(services, domain):
    """Found: a $999,999 debt got an empty plan menu and no handoff."""
    slots = {"situation": "missed_payment", "order_id": "MG-10421", "debt_amount": "999999"}
    run(ValidateCaseForm(), tracker(slots=slots), domain)
    messages, events = run(
        ActionPlanPayment(),
        tracker(
            text="I can do 10 a week",
            intent="afford_amount",
            user_turns=2,
            slots=slots,
            entities=[{"entity": "amount", "value": "10.00"}],
        ),
        domain,
    )
    assert said(messages) == ["utter_handoff"]
    assert any(e.get("event") == "pause" for e in events)
    pending = [p for p in services.ledger.list(conversation_id="conv-1") if p.status == "pending"]
    assert len(pending) == 1 and "no payment plan" in pending[0].context["reason"]


def test_minus_one_is_not_option_one(services, domain):
    run(ValidateCaseForm(), tracker(slots=CASE), domain)
    messages, events = run(
        ActionAcceptOffer(),
        tracker(text="-1", intent="choose_option", slots=dict(CASE, stage="offered"), user_turns=2),
        domain,
    )
    assert said(messages) == ["utter_ask_which_option"]
    assert services.ledger.list(conversation_id="conv-1")[0].status == "offered"
    assert slot_events(events) == {}
