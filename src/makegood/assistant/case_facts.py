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
from makegood.policy.case import whole
from makegood.policy.conditions import facts_named
from makegood.services.grants import history_of

# Facts the bot asks the customer for, each with the slot that holds it.
MONEY_SLOTS = ("disputed_amount", "debt_amount", "price_difference")
HOURS_SLOTS = ("outage_hours",)
FACT_SLOTS = MONEY_SLOTS + HOURS_SLOTS
# Facts computed from the order rather than asked: see `derive`.
DERIVED = {"days_past_window"}
MAX_OUTAGE_HOURS = 24 * 365


class OrderNotFound(CaseError):
    """No such order on this chat's account (whether it does not exist or is someone else's)."""

    def __init__(self, order_id: str):
        super().__init__(f"no order {order_id}")
        self.order_id = order_id


class SignInNeeded(OrderNotFound):
    """An order asked about in a chat no customer is signed in to: nothing about it is shown."""


def needed_facts(catalog: Catalog, situation: str) -> set[str]:
    s = catalog.situation(situation)
    named = set(s.needs)
    for condition in s.eligible:
        named |= facts_named(condition)
    return named


# How often the customer may give a fact we cannot use (an order we cannot find, an amount
# we cannot read) before the case goes to a person with everything said so far: one retry,
# never a loop.
MAX_FACT_MISSES = 2


def slots_to_ask(catalog: Catalog, situation: str, misses: object = 0) -> list[str]:
    """The order number first (it identifies the customer and every company fact), then the
    conversation facts this situation's policy needs, in a fixed order. Nothing more once the
    customer has missed MAX_FACT_MISSES times: the bot stops asking and hands over."""
    if gave_up(misses):
        return []
    needed = needed_facts(catalog, situation)
    facts = [slot for slot in FACT_SLOTS if slot in needed]
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
    named = set(s.needs)
    for condition in s.eligible:
        named |= facts_named(condition)
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


def order_in_text(text: str) -> str | None:
    """An order number the customer typed bare, when asked for one: "10422", "10 422"."""
    found = _BARE_ORDER.findall((text or "")[:500])
    return f"MG-{found[0][0]}{found[0][1]}" if len(found) == 1 else None


def value_for_slot(slot: str, entities: Iterable[Entity]) -> str | None:
    """The first entity in a message that can fill `slot`, normalised, or None."""
    entities = list(entities)
    if slot == "order_id":
        kinds: tuple[str, ...] = ("order_id",)
    elif slot in MONEY_SLOTS:
        kinds = ("amount",)
    elif slot in HOURS_SLOTS:
        kinds = ("duration_hours", "duration_days")
    else:
        return None
    # Hours before days: "6 hours" is also read as 0 days, and "last night" as a day.
    for kind in kinds:
        for entity in entities:
            if entity.entity == kind:
                if kind == "duration_days":
                    if int(entity.value) <= 0:
                        continue
                    return str(int(entity.value) * 24)
                return entity.value
    return None


def parse_slot(slot: str, value: object) -> object:
    """Validate a slot value as the fact it stands for. Raises CaseError with a clear message."""
    if slot in MONEY_SLOTS:
        return to_money(value, slot.replace("_", " "))
    if slot in HOURS_SLOTS:
        try:
            hours = Decimal(str(value))
        except Exception:  # noqa: BLE001
            raise CaseError(f"{slot} must be a number of hours, got {value!r}") from None
        if not hours.is_finite() or hours < 0 or hours > MAX_OUTAGE_HOURS:
            raise CaseError(f"{slot} must be between 0 and {MAX_OUTAGE_HOURS} hours, got {value!r}")
        return int(hours)
    if slot == "order_id":
        text = str(value).strip().upper()
        if not text:
            raise CaseError("order id is empty")
        return text
    raise CaseError(f"unknown slot {slot!r}")


@dataclass(frozen=True)
class CaseContext:
    case: Case
    customer_id: str | None
    order_id: str | None


def derive(catalog: Catalog, situation: str, known: Mapping[str, object]) -> dict[str, object]:
    """Facts computed from the order, so the customer is never asked what we already know."""
    derived: dict[str, object] = {}
    if situation == "late_return" and known.get("days_since_delivery") is not None:
        derived["days_past_window"] = max(0, whole(known["days_since_delivery"]) - catalog.return_window_days)
    if situation == "late_cancellation" and known.get("days_since_purchase") is not None:
        # A subscription order is its renewal: the cancellation deadline was the renewal date.
        derived["days_past_window"] = whole(known["days_since_purchase"])
    return derived


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
    if slots.get("order_id"):
        order_id = str(parse_slot("order_id", slots["order_id"]))
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
    conversation = {}
    for slot in FACT_SLOTS:
        spec = catalog.facts.get(slot)
        if spec is not None and spec.source == "conversation" and slots.get(slot) not in (None, ""):
            conversation[slot] = parse_slot(slot, slots[slot])
    facts = {k: v for k, v in known.items() if k in catalog.facts}
    facts.update(conversation)
    facts.update(derive(catalog, situation, facts))
    history = history_of(customers.grants_for(customer_id), order_id, today) if customer_id else None
    return CaseContext(Case.build(catalog, situation, facts, history=history), customer_id, order_id)


_BARE_SUM = re.compile(
    r"(?<![\w.$£€#-])(\d{1,4}(?:\.\d{1,2})?)(?![\w%.]|\s*(?:hours?|hrs?|days?|weeks?|"
    r"months?|minutes?|mins?|times|items?|x\b|years?|%|percent|pieces?|pcs))"
)


def sums_in(text: str, entities: Iterable[Entity]) -> list[Decimal]:
    """The money in a message: the NLU's amounts, else bare numbers that are not order
    numbers, durations or counts ("I paid 349 and now it's 299", "I just want the 129 back")."""
    found = [Decimal(e.value) for e in entities if e.entity == "amount"]
    if found:
        return found
    return [Decimal(n) for n in _BARE_SUM.findall((text or "").lower()[:500])]


def opening_slots(
    catalog: Catalog, situation: str, entities: Iterable[Entity], text: str = ""
) -> dict[str, str | None]:
    """Slots for a new case from the customer's first message, so the form does not ask
    again for what they already said. Facts of a previous case are cleared."""
    entities = list(entities)
    asked = slots_to_ask(catalog, situation)
    slots: dict[str, str | None] = dict.fromkeys(("order_id",) + FACT_SLOTS)
    slots["order_id"] = value_for_slot("order_id", entities) or (
        order_in_text(text) if re.search(r"\b(?:order|mg|#)", text or "", re.I) else None
    )
    # One amount in the opening message is the one money fact this situation asks for; a price
    # drop told as two prices ("I paid 349, now it's 299") is their difference.
    money_slot = next((s for s in MONEY_SLOTS if s in needed_facts(catalog, situation)), None)
    if money_slot:
        sums = sums_in(text, entities) if text else [Decimal(e.value) for e in entities if e.entity == "amount"]
        if money_slot == "price_difference" and len(sums) == 2 and sums[0] != sums[1]:
            slots[money_slot] = str(abs(sums[0] - sums[1]))
        else:
            slots[money_slot] = value_for_slot(money_slot, entities) or (str(sums[0]) if len(sums) == 1 else None)
    if "outage_hours" in asked:
        slots["outage_hours"] = value_for_slot("outage_hours", entities)
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
