"""Which facts the bot asks for, how a message's entities fill them, and how a case is built.

The trust boundary lives here: company facts (membership, order value, history) come only
from the customer store; from the conversation we take only facts the catalog marks as
`source: conversation`. Whatever a customer puts into slots cannot reach the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from makegood.customers.scoped import SignInRequired
from makegood.errors import CaseError
from makegood.money import to_money
from makegood.nlp import Entity
from makegood.policy import Case, Catalog
from makegood.policy.conditions import facts_named
from makegood.services.bot.fact_reading import parse_fact, read_fact
from makegood.services.grants import history_of


class OrderNotFound(CaseError):
    """No such order on this chat's account (whether it does not exist or is someone else's)."""

    def __init__(self, order_id: str):
        super().__init__(f"no order {order_id}")
        self.order_id = order_id


class SignInNeeded(OrderNotFound):
    """An order asked about in a chat no customer is signed in to: nothing about it is shown."""


# How often the customer may give a fact we cannot use (an order we cannot find, an amount
# we cannot read) before the case goes to a person with everything said so far: one retry,
# never a loop.
MAX_FACT_MISSES = 2


def slots_to_ask(catalog: Catalog, situation: str, misses: object = 0) -> list[str]:
    """The order number first (it identifies the customer and every company fact), then the
    conversation facts the catalog says this situation asks for, in catalog order. Nothing more
    once the customer has missed MAX_FACT_MISSES times: the bot stops asking and hands over."""
    if gave_up(misses):
        return []
    facts = catalog.asked_facts(situation)
    if not uses_company_facts(catalog, situation):
        # Nothing to look up before judging (a missed payment, a disputed fee): ask about the
        # problem only. The order number, which says whose account it is, is asked when
        # something is granted (Assistant._grant): "how much can you afford?" comes first.
        return facts
    return ["order_id"] + facts


def uses_company_facts(catalog: Catalog, situation: str) -> bool:
    """Does any rule of this situation read a fact the customer store knows (order value,
    days since delivery, membership, ...)?"""
    s = catalog.situation(situation)
    named = s.needed()
    for derivation in s.derive.values():
        named |= derivation.reads
    for rule in s.remedies:
        for condition in rule.when:
            named |= facts_named(condition)
        named |= {f for f in (rule.amount.fact, rule.amount.of, rule.amount.per) if f}
        if any(cap.max_percent is not None for cap in rule.caps.values()):
            named.add("order_value")
    return any(catalog.facts[n].source == "company" for n in named if n in catalog.facts)


def gave_up(misses: object) -> bool:
    try:
        return int(float(str(misses or 0))) >= MAX_FACT_MISSES
    except (TypeError, ValueError):
        return False


_BARE_ORDER = re.compile(r"(?<![\d.$£€])(?:mg\s*[-#]?\s*)?(\d{2})\s?(\d{3})(?![\d.,%])", re.I)
ORDER_ID = "order_id"  # the slot that says whose order (and account) a case is about


def order_in_text(text: str) -> str | None:
    """An order number the customer typed bare, when asked for one: "10422", "10 422"."""
    found = _BARE_ORDER.findall((text or "")[:500])
    return f"MG-{found[0][0]}{found[0][1]}" if len(found) == 1 else None


def order_in(entities: Iterable[Entity]) -> str | None:
    """The order number the NLU found in a message, if any."""
    return next((e.value for e in entities if e.entity == "order_id"), None)


def parse_order_id(value: object) -> str:
    text = str(value).strip().upper()
    if not text:
        raise CaseError("order id is empty")
    return text


def conversation_facts_in(catalog: Catalog, slots: Mapping[str, object]) -> dict[str, str]:
    """The conversation facts the slots hold, each checked as its fact type (CaseError if not)."""
    return {
        name: parse_fact(catalog.facts[name], slots[name])
        for name in catalog.askable_facts()
        if slots.get(name) not in (None, "")
    }


@dataclass(frozen=True)
class CaseContext:
    case: Case
    customer_id: str | None
    order_id: str | None


def build_case(
    catalog: Catalog,
    customers,
    situation: str,
    slots: Mapping[str, object],
    today: date,
    *,
    customer_id: str | None = None,
) -> CaseContext:
    """Company facts from the store, conversation facts from slots, derived facts from the order.
    `customer_id`: the customer the chat is bound to, whose facts count even before an order
    is named (a fee on the account has no order)."""
    order_id: str | None = None
    known: dict[str, object] = {}
    if slots.get(ORDER_ID):
        order_id = parse_order_id(slots[ORDER_ID])
        try:
            customer = customers.find_customer_by_order(order_id)
        except SignInRequired:
            raise SignInNeeded(order_id) from None
        if customer is None:
            raise OrderNotFound(str(order_id))
        customer_id = customer.id
    if customer_id:
        known = dict(
            customers.known_facts(customer_id, order_id, today=today, period_days=catalog.exception_period_days)
        )
    facts: dict[str, object] = {k: v for k, v in known.items() if k in catalog.facts}
    facts.update(conversation_facts_in(catalog, slots))  # derived facts: Case.build works them out
    history = history_of(customers.grants_for(customer_id), order_id, today) if customer_id else None
    return CaseContext(Case.build(catalog, situation, facts, history=history), customer_id, order_id)


def opening_slots(
    catalog: Catalog, situation: str, entities: Iterable[Entity], text: str = ""
) -> dict[str, str | None]:
    """Slots for a new case from the customer's first message, so the form does not ask
    again for what they already said. Facts of a previous case are cleared. One amount in the
    message is the first money fact the situation asks for, not every one."""
    entities = list(entities)
    slots: dict[str, str | None] = dict.fromkeys((ORDER_ID, *catalog.askable_facts()))
    slots[ORDER_ID] = order_in(entities) or (
        order_in_text(text) if re.search(r"\b(?:order|mg|#)", text or "", re.I) else None
    )
    money_read = False
    for name in catalog.asked_facts(situation):
        spec = catalog.facts[name]
        if spec.type == "money":
            if money_read:
                continue
            money_read = True
        slots[name] = read_fact(spec, entities, text, asked=False)
    return slots


def weekly_amount(entities: Iterable[Entity]) -> str | None:
    """ "I can do 100 a month" is about 23 a week; per fortnight, halved. Rounded down to cents
    so the plan never asks for more than the customer said."""
    from decimal import ROUND_FLOOR

    entities = list(entities)
    amount = next((e.value for e in entities if e.entity == "amount"), None)
    if amount is None:
        return None
    frequency = next((e.value for e in entities if e.entity == "frequency"), "week")
    weeks = {"week": Decimal(1), "fortnight": Decimal(2), "month": Decimal(52) / Decimal(12)}.get(frequency, Decimal(1))
    return str((Decimal(amount) / weeks).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def asked_amount(entities: Iterable[Entity], text: str) -> tuple[str | None, str | None]:
    """(amount, percent) from the customer's answer to "what would be fair?". A bare number
    counts as money here ("I think 20 would be fair"), because the question was about money."""
    entities = list(entities)
    amount = next((e.value for e in entities if e.entity == "amount"), None)
    if amount is not None:
        return amount, None
    percent = next((e.value for e in entities if e.entity == "percent"), None)
    if percent is not None:
        return None, percent
    lowered = (text or "").lower()[:2000]
    if re.search(r"\b(full refund|all (of )?my money|everything back|the whole (thing|amount|price))\b", lowered):
        return None, "100"
    numbers = re.findall(r"(?<![\w.$])\d{1,6}(?:\.\d{1,2})?(?![\w%.])", lowered)
    if len(numbers) == 1:
        return str(to_money(numbers[0], "the amount")), None
    from makegood.nlp import to_decimal

    try:
        return str(to_decimal(lowered)), None
    except CaseError:
        return None, None
