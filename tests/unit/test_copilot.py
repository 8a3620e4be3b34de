"""The copilot's logic: what an agent sees for a live chat, and what gets logged when they choose.

Real catalog, the demo customers in memory (as of 2026-11-23), a ledger on a throwaway SQLite
file, and a fake language model that knows a handful of sentences.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from datetime import date, datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from makegood.accounts import User
from makegood.customers import InMemoryCustomerStore
from makegood.errors import CaseError, StoreUnavailable
from makegood.ledger import Ledger
from makegood.nlp import Entity
from makegood.policy import load_catalog
from makegood.services.bootstrap import Services
from makegood.services.copilot import (
    CopilotForbidden,
    LogRequest,
    Parsed,
    RasaHttpUnderstanding,
    SuggestRequest,
    apologies,
    log,
    suggest,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)
WHEN = datetime(2026, 11, 1, tzinfo=timezone.utc)
ALICE = User("alice", "agent", True, WHEN)
BOB = User("bob", "agent", True, WHEN)
SAM = User("sam", "supervisor", True, WHEN)
RITA = User("rita", "reviewer", True, WHEN)
ADA = User("ada", "admin", True, WHEN)


class FakeUnderstanding:
    """Intents by exact text; entities found by two small regexes (no spaCy in unit tests)."""

    def __init__(self, intents: dict[str, tuple[str, float]]):
        self.intents = intents
        self.calls: list[str] = []

    def parse(self, text: str) -> Parsed:
        self.calls.append(text)
        intent, confidence = self.intents.get(text, ("chitchat", 0.9))
        entities = [
            Entity("order_id", m.group(0).upper(), m.start(), m.end(), m.group(0))
            for m in re.finditer(r"MG-\d{5}", text, re.I)
        ]
        entities += [
            Entity("amount", str(Decimal(m.group(1)).quantize(Decimal("0.01"))), m.start(), m.end(), m.group(0))
            for m in re.finditer(r"\$(\d+(?:\.\d\d)?)", text)
        ]
        return Parsed(intent, confidence, entities)


SMASHED = "the dinner set from order MG-10422 arrived smashed to pieces"
SMASHED_VASE = "my order MG-10481 arrived smashed"
BROKEN_NO_ORDER = "the plates arrived broken"
CANT_PAY = "I can't make my payment this month, I owe $600"
CANT_PAY_NO_AMOUNT = "I can't pay this month"
FEE = "you charged me a $35 fee I never agreed to"
NOT_LATE = "where is MG-10432? it should be here by now"

NLU = FakeUnderstanding(
    {
        SMASHED: ("damaged_item", 0.97),
        SMASHED_VASE: ("damaged_item", 0.91),
        BROKEN_NO_ORDER: ("damaged_item", 0.88),
        CANT_PAY: ("missed_payment", 0.95),
        CANT_PAY_NO_AMOUNT: ("missed_payment", 0.9),
        FEE: ("fee_dispute", 0.9),
        NOT_LATE: ("late_delivery", 0.9),
        "hello": ("greet", 0.99),
        "maybe it broke?": ("damaged_item", 0.3),
    }
)


@pytest.fixture
def services(tmp_path):
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    wired = Services(
        catalog=load_catalog(ROOT / "policy"),
        ledger=ledger,
        customers=InMemoryCustomerStore.demo(TODAY),
        today=lambda: TODAY,
    )
    yield wired
    ledger.dispose()


def chat(*customer: str, agent_says: str = "Hi, I'm Alice. How can I help?") -> list[dict]:
    turns = [{"speaker": "agent", "text": agent_says}]
    for text in customer:
        turns.append({"speaker": "customer", "text": text})
    return turns


def ask(services, *customer, agent=ALICE, **kwargs):
    return suggest(services, NLU, SuggestRequest(turns=chat(*customer), agent=agent, **kwargs))


def remedies(options):
    return [(o["remedy"], o["size"]) for o in options]


# -- suggest ---------------------------------------------------------------------------------------
def test_damaged_item_for_an_agent_lists_what_they_may_offer_best_first(services):
    s = ask(services, "hello", SMASHED)
    assert (s.situation, s.confidence, s.tier) == ("damaged_item", 0.97, "agent")
    assert (s.order_id, s.customer_id) == ("MG-10422", "C-1001")
    # $129 dinner set, gold customer, delivered 3 days ago: all within an agent's caps.
    assert remedies(s.in_authority) == [
        ("replacement", "129.00"),
        ("partial_refund", "38.70"),
        ("store_credit", "51.60"),
        ("full_refund", "129.00"),
        ("goodwill_voucher", "10.00"),
    ]
    first = s.in_authority[0]
    assert first["rule"] == "damaged_item.replacement" and first["cap_rule"] == "damaged_item.replacement.caps.agent"
    assert first["required_tier"] == "agent" and first["text"] == "a free replacement, sent out today"
    assert s.needs_approval == {"peer": [], "supervisor": [], "manager": []}
    assert s.missing_facts == [] and s.next_question is None and s.handoff is None
    assert s.facts["membership"] == "gold" and s.facts["order_value"] == "129.00"
    assert s.policy_version == services.catalog.version
    assert "damaged_item.replacement.caps.agent" in s.rules_cited
    assert s.phrasing["listen"] == (
        "Thanks for explaining — let me make sure I have this right: the item arrived broken or defective."
    )
    assert s.phrasing["apologize"] == "I'm so sorry it arrived damaged. Let's put that right."
    assert s.phrasing["solve"] == (
        "Right now I can offer a free replacement, sent out today. What do you think would be fair?"
    )
    assert s.phrasing["thank"] == "Thank you for your patience — and for telling us."
    assert json.loads(json.dumps(s.as_json()))["in_authority"][0]["size"] == "129.00"


def test_what_needs_approval_is_grouped_by_the_tier_that_can_give_it(services):
    s = ask(services, SMASHED_VASE)  # $899, platinum, delivered 4 days ago
    assert remedies(s.in_authority) == [
        ("partial_refund", "75.00"),
        ("store_credit", "100.00"),
        ("goodwill_voucher", "10.00"),
    ]
    assert s.in_authority[0]["reduced_from"] == "269.70"  # offered at the agent's cap
    assert set(s.needs_approval) == {"peer", "supervisor", "manager"}
    assert remedies(s.needs_approval["supervisor"]) == [
        ("replacement", "899.00"),
        ("partial_refund", "269.70"),
        ("store_credit", "359.60"),
        ("full_refund", "899.00"),
    ]
    assert all(o["required_tier"] == "supervisor" for o in s.needs_approval["supervisor"])
    assert s.needs_approval["peer"] == [] and s.needs_approval["manager"] == []


def test_a_supervisor_sees_more_in_authority_than_an_agent_for_the_same_case(services):
    agent = ask(services, SMASHED_VASE, agent=ALICE)
    supervisor = ask(services, SMASHED_VASE, agent=SAM)
    assert supervisor.tier == "supervisor"
    assert len(supervisor.in_authority) > len(agent.in_authority)
    assert ("full_refund", "899.00") in remedies(supervisor.in_authority)
    assert ("full_refund", "899.00") not in remedies(agent.in_authority)
    assert supervisor.needs_approval == {"peer": [], "supervisor": [], "manager": []}


def test_no_exception_in_the_chat_means_listening_and_no_options(services):
    s = ask(services, "hello", "maybe it broke?")  # 0.3 confidence is not enough
    assert s.situation is None and s.confidence == 0.0
    assert s.in_authority == [] and s.blocked == [] and s.handoff is None
    assert s.needs_approval == {"peer": [], "supervisor": [], "manager": []}
    assert "what happened" in s.phrasing["listen"]
    assert s.phrasing["solve"] is None and s.phrasing["apologize"] is None


def test_the_latest_exception_in_the_chat_wins(services):
    s = ask(services, SMASHED, "hello", FEE)
    assert s.situation == "fee_dispute"
    assert s.order_id == "MG-10422"  # the order mentioned earlier still identifies the customer


def test_agent_turns_are_not_read_as_the_customers_words(services):
    turns = [{"speaker": "agent", "text": SMASHED}, {"speaker": "customer", "text": "hello"}]
    s = suggest(services, NLU, SuggestRequest(turns=turns, agent=ALICE))
    assert s.situation is None


def test_missing_order_asks_for_the_order_number(services):
    s = ask(services, BROKEN_NO_ORDER)
    assert s.situation == "damaged_item"
    assert s.missing_facts[0] == "order_id" and s.missing == s.missing_facts
    assert s.next_question.startswith("Could you give me the order number?")
    assert s.in_authority == []
    assert s.phrasing["solve"] == s.next_question


def test_an_order_given_by_the_agent_fills_the_gap(services):
    s = ask(services, BROKEN_NO_ORDER, order_id="mg-10422")
    assert s.order_id == "MG-10422" and s.missing_facts == [] and s.in_authority


def test_an_unknown_order_is_missing_with_a_note_not_an_error(services):
    s = suggest(
        services,
        FakeUnderstanding({"order MG-99999 arrived smashed": ("damaged_item", 0.9)}),
        SuggestRequest(turns=chat("order MG-99999 arrived smashed"), agent=ALICE),
    )
    assert s.situation == "damaged_item" and "order_id" in s.missing_facts
    assert any("MG-99999" in n for n in s.notes)


def test_an_order_of_another_customer_is_not_used(services):
    s = ask(services, SMASHED, customer_id="C-1002")
    assert "order_id" in s.missing_facts and any("another customer" in n for n in s.notes)
    assert s.facts.get("membership") == "standard" and s.customer_id == "C-1002"


def test_conversation_facts_come_from_the_chat_or_from_the_agent(services):
    s = ask(services, SMASHED, FEE)
    assert s.facts["disputed_amount"] == "35.00" and s.conversation_facts == {"disputed_amount": "35.00"}
    # what suggest read from the chat is what log() takes back
    p = log(
        services,
        LogRequest(
            conversation_id="chat-f",
            agent=ALICE,
            situation=s.situation,
            remedy="fee_waiver",
            order_id=s.order_id,
            customer_id=s.customer_id,
            facts=s.conversation_facts,
        ),
    )
    assert p.status == "accepted" and p.facts["disputed_amount"] == "35.00"
    s = ask(services, SMASHED, FEE, facts={"disputed_amount": "20"})
    assert s.facts["disputed_amount"] == "20.00"  # the agent's figure wins over the chat's


def test_missed_payment_asks_what_they_can_afford(services):
    s = ask(services, SMASHED, CANT_PAY)
    assert s.situation == "missed_payment" and s.facts["debt_amount"] == "600.00"
    assert s.phrasing["solve"] == "How much do you think you can afford each week?"
    s = ask(services, SMASHED, CANT_PAY_NO_AMOUNT)
    assert s.missing_facts == ["debt_amount"]
    assert (
        s.next_question == "What's the overdue amount on your statement?"
    )  # the catalog's question, as the bot asks it


@pytest.mark.parametrize(
    "facts, message",
    [
        ({"membership": "platinum"}, "membership is known by the company; it is read from the customer store"),
        ({"order_value": "5000"}, "order_value is known by the company"),
        ({"recent_exceptions": "0"}, "recent_exceptions is known by the company"),
        ({"days_past_window": "1"}, "days_past_window is worked out from the order"),
        ({"shoe_size": "9", "mood": "sad"}, "unknown facts 'mood', 'shoe_size'"),
        ({"disputed_amount": "a lot"}, "disputed_amount must be an amount of money"),
        ({"debt_amount": "-5"}, "cannot be negative"),
    ],
)
def test_company_and_unknown_facts_are_refused(services, facts, message):
    with pytest.raises(CaseError, match=re.escape(message)):
        ask(services, FEE, order_id="MG-10422", facts=facts)


@pytest.mark.parametrize("user", [RITA, ADA])
def test_reviewers_and_admins_do_not_propose_remedies(services, user):
    with pytest.raises(CopilotForbidden, match="reviewers and admins do not propose remedies"):
        ask(services, SMASHED, agent=user)
    with pytest.raises(CopilotForbidden):
        log(
            services,
            LogRequest(
                conversation_id="c-1", agent=user, situation="damaged_item", remedy="replacement", order_id="MG-10422"
            ),
        )


def test_turns_are_validated_and_long_texts_cut():
    long = SuggestRequest(turns=[{"speaker": "customer", "text": "x" * 9000}], agent=ALICE)
    assert len(long.turns[0]["text"]) == 5000
    with pytest.raises(CaseError, match="at most 200"):
        SuggestRequest(turns=[{"speaker": "customer", "text": "hi"}] * 201, agent=ALICE)
    with pytest.raises(CaseError, match="turn 2: speaker must be customer or agent"):
        SuggestRequest(turns=[{"speaker": "agent", "text": "hi"}, {"speaker": "bot", "text": "hi"}], agent=ALICE)
    with pytest.raises(CaseError, match="facts must be an object"):
        SuggestRequest(turns=[], agent=ALICE, facts=["disputed_amount"])


def test_long_chats_read_only_what_they_need(services):
    nlu = FakeUnderstanding({SMASHED: ("damaged_item", 0.97)})
    turns = [{"speaker": "customer", "text": f"message {i}"} for i in range(150)] + chat(SMASHED)
    s = suggest(services, nlu, SuggestRequest(turns=turns, agent=ALICE))
    assert s.situation == "damaged_item" and nlu.calls == [SMASHED]  # the order id was in the same message


def test_apologies_come_from_the_bots_domain():
    texts = apologies()
    assert texts["missed_payment"] == "Thank you for telling us — we'll work something out together."
    assert set(texts) >= {"damaged_item", "fee_dispute", "late_delivery"}


# -- log -------------------------------------------------------------------------------------------
def test_a_remedy_within_the_agents_authority_is_accepted(services):
    p = log(
        services,
        LogRequest(
            conversation_id="chat-1",
            agent=ALICE,
            situation="damaged_item",
            remedy="partial_refund",
            size="60",
            order_id="MG-10422",
            transcript=chat(SMASHED),
            customer_ask={"remedy": "partial_refund", "size": "60"},
        ),
    )
    assert p.created and p.status == "accepted" and p.tier_required == "agent"
    assert (p.channel, p.requested_by, p.customer_id, p.order_id) == ("copilot", "alice", "C-1001", "MG-10422")
    chosen = p.option_chosen
    assert (chosen["remedy"], chosen["size"], chosen["required_tier"]) == ("partial_refund", "60.00", "agent")
    assert (
        chosen["rule"] == "damaged_item.partial_refund"
        and chosen["cap_rule"] == "damaged_item.partial_refund.caps.agent"
    )
    assert chosen["text"] == "$60 back to your original payment method"
    assert p.options_offered[0]["remedy"] == "replacement"
    assert p.context["transcript"][-1]["text"] == SMASHED
    assert p.context["customer_ask"] == {"remedy": "partial_refund", "size": "60"}
    assert "damaged_item.partial_refund.caps.agent" in p.context["rules_cited"]
    assert p.facts["order_value"] == "129.00" and p.policy_version == services.catalog.version
    # granted now: it counts towards the customer's history
    assert services.customers.known_facts("C-1001", None, today=TODAY, period_days=90)["recent_exceptions"] == 1


def test_the_remedys_own_size_is_used_when_none_is_given(services):
    p = log(
        services,
        LogRequest(
            conversation_id="chat-1", agent=ALICE, situation="damaged_item", remedy="replacement", order_id="MG-10422"
        ),
    )
    assert p.status == "accepted" and p.option_chosen["size"] == "129.00"


def test_above_the_agents_cap_goes_to_a_peer_and_the_agent_counts_as_the_first(services):
    p = log(
        services,
        LogRequest(
            conversation_id="chat-2",
            agent=ALICE,
            situation="damaged_item",
            remedy="partial_refund",
            size="100",
            order_id="MG-10422",
        ),
    )
    assert p.status == "pending" and p.tier_required == "peer"
    assert p.option_chosen["required_tier"] == "peer" and p.option_chosen["cap_rule"].endswith(".caps.peer")
    approved = services.ledger.decide(p.public_id, actor="bob", role="agent", decision="cosign")
    assert approved.status == "approved"  # alice + bob: two agents agree
    # An approval straight through the ledger (as `makegood ledger decide` does) counts too.
    assert services.customers.known_facts("C-1001", None, today=TODAY, period_days=90)["recent_exceptions"] == 1


def test_a_full_refund_of_a_high_value_order_goes_to_a_supervisor(services):
    p = log(
        services,
        LogRequest(
            conversation_id="chat-3", agent=ALICE, situation="damaged_item", remedy="full_refund", order_id="MG-10481"
        ),
    )
    assert p.status == "pending" and p.tier_required == "supervisor"
    assert p.option_chosen["size"] == "899.00"
    same = log(
        services,
        LogRequest(
            conversation_id="chat-3b", agent=SAM, situation="damaged_item", remedy="full_refund", order_id="MG-10481"
        ),
    )
    assert same.status == "accepted" and same.tier_required == "supervisor" and same.requested_by == "sam"


@pytest.mark.parametrize(
    "remedy, size, message",
    [
        ("partial_refund", "5000", "beyond every tier's authority"),
        ("full_refund", "50", "not adjustable"),
        ("payment_deferral", None, "payment_deferral is not a remedy for damaged_item"),
    ],
)
def test_a_tampered_or_impossible_choice_is_refused(services, remedy, size, message):
    with pytest.raises(CaseError, match=re.escape(message)):
        log(
            services,
            LogRequest(
                conversation_id="chat-4",
                agent=ALICE,
                situation="damaged_item",
                remedy=remedy,
                size=size,
                order_id="MG-10422",
            ),
        )
    assert services.ledger.count() == 0


def test_log_refuses_what_it_cannot_check(services):
    def attempt(**kw):
        values = dict(
            conversation_id="chat-5",
            agent=ALICE,
            situation="fee_dispute",
            remedy="fee_waiver",
            order_id="MG-10422",
            facts={"disputed_amount": "35"},
        )
        values.update(kw)
        return log(services, LogRequest(**values))

    with pytest.raises(CaseError, match="facts are missing: disputed_amount"):
        attempt(facts={})
    with pytest.raises(CaseError, match="no order MG-99999"):
        attempt(order_id="MG-99999")
    with pytest.raises(CaseError, match="known customer"):
        attempt(order_id=None)
    with pytest.raises(CaseError, match="does not belong to customer C-1002"):
        attempt(customer_id="C-1002")
    with pytest.raises(CaseError, match="membership is known by the company"):
        attempt(facts={"disputed_amount": "35", "membership": "platinum"})
    with pytest.raises(CaseError, match="unknown situation"):
        attempt(situation="alien_abduction")
    with pytest.raises(CaseError, match="unknown remedy"):
        attempt(remedy="free_car")
    assert attempt().status == "accepted"


def test_logging_twice_with_the_same_key_logs_once(services):
    request = LogRequest(
        conversation_id="chat-6",
        agent=ALICE,
        situation="damaged_item",
        remedy="store_credit",
        size="40",
        order_id="MG-10422",
        idempotency_key="click-1",
    )
    first = log(services, request)
    again = log(services, request)
    assert first.created and not again.created and again.public_id == first.public_id
    # No key: keyed by remedy, size, situation and order, so "40" and "40.00" are one log too.
    other_chat = dict(
        conversation_id="chat-7",
        agent=ALICE,
        situation="damaged_item",
        remedy="store_credit",
        order_id=_copy_order(services, "MG-10422", "MG-20001"),
    )
    other = log(services, LogRequest(size="40", **other_chat))
    assert other.public_id != first.public_id
    assert log(services, LogRequest(size="40.00", **other_chat)).public_id == other.public_id
    long_key = "k" * 500
    keyed = log(
        services,
        LogRequest(
            conversation_id="chat-8",
            agent=ALICE,
            situation="damaged_item",
            remedy="store_credit",
            size="40",
            order_id=_copy_order(services, "MG-10422", "MG-20002"),
            idempotency_key=long_key,
        ),
    )
    assert keyed.created and len(keyed.turn_key) <= 128
    assert services.ledger.count() == 3


def _copy_order(services, like: str, new_id: str) -> str:
    services.customers.upsert(orders=[dataclasses.replace(services.customers.order(like), id=new_id)])
    return new_id


def test_a_second_grant_of_one_remedy_on_one_order_is_refused_with_the_limit_named(services):
    log(
        services,
        LogRequest(
            conversation_id="chat-9",
            agent=ALICE,
            situation="damaged_item",
            remedy="store_credit",
            size="40",
            order_id="MG-10422",
        ),
    )
    with pytest.raises(CaseError, match="already given once on order MG-10422"):
        log(
            services,
            LogRequest(
                conversation_id="chat-10",
                agent=ALICE,
                situation="damaged_item",
                remedy="store_credit",
                size="35",
                order_id="MG-10422",
            ),
        )
    assert services.ledger.count() == 1


# -- the Rasa client -------------------------------------------------------------------------------
class _Rasa(BaseHTTPRequestHandler):
    answer: ClassVar[dict] = {}
    status = 200

    def do_POST(self):  # http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length))
        payload = json.dumps({**self.answer, "text": body["text"]}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def rasa():
    server = HTTPServer(("127.0.0.1", 0), _Rasa)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_rasa_answers_are_mapped(rasa):
    text = "order MG-10422 arrived smashed"
    _Rasa.status = 200
    _Rasa.answer = {
        "intent": {"name": "damaged_item", "confidence": 0.91},
        "entities": [
            {"entity": "order_id", "value": "MG-10422", "start": 0, "end": 14, "extractor": "MakegoodEntityExtractor"}
        ],
    }
    parsed = RasaHttpUnderstanding(f"http://127.0.0.1:{rasa.server_port}/").parse(text)
    assert parsed.intent == "damaged_item" and parsed.confidence == pytest.approx(0.91)
    assert parsed.entities == [Entity("order_id", "MG-10422", 0, 14, "order MG-10422")]


def test_without_rasa_entities_makegoods_extractor_reads_the_text(rasa, monkeypatch):
    import makegood.nlp

    monkeypatch.setattr(makegood.nlp, "extract", lambda text: [Entity("amount", "35.00", 0, 3, "$35")])
    _Rasa.status = 200
    _Rasa.answer = {"intent": {"name": "fee_dispute", "confidence": 0.8}, "entities": []}
    parsed = RasaHttpUnderstanding(f"http://127.0.0.1:{rasa.server_port}").parse("$35 fee")
    assert parsed.entities == [Entity("amount", "35.00", 0, 3, "$35")]


def test_an_unreachable_or_failing_rasa_is_store_unavailable(rasa):
    _Rasa.status = 500
    _Rasa.answer = {}
    with pytest.raises(StoreUnavailable, match=r"the language model at .* is not reachable: it answered HTTP 500"):
        RasaHttpUnderstanding(f"http://127.0.0.1:{rasa.server_port}").parse("hi")
    with pytest.raises(StoreUnavailable, match=r"the language model at http://127.0.0.1:1 is not reachable: "):
        RasaHttpUnderstanding("http://127.0.0.1:1", timeout=0.5).parse("hi")


def test_an_order_that_is_not_late_tells_the_agent_there_is_nothing_to_fix(services):
    """MG-10432 is due in three days: the agent sees the catalog's reason, not a handoff."""
    s = ask(services, NOT_LATE)
    assert s.in_authority == [] and s.handoff is None
    assert s.phrasing["solve"].startswith("Good news: your order isn't late")
    assert any(n.startswith("not an exception:") for n in s.notes)
