"""How an option reads to a customer. One place, used by the bot's confirmations and the copilot."""

from __future__ import annotations

from decimal import Decimal

from makegood.money import fmt
from makegood.policy import Option, Plan

_PHRASES = {
    "full_refund": "a full refund of {amount} to your original payment method",
    "partial_refund": "{amount} back to your original payment method",
    "store_credit": "{amount} in store credit",
    "fee_waiver": "{amount} of the fee waived",
    "replacement": "a free replacement, sent out today",
    "shipping_upgrade": "your shipping refunded ({amount}) and your next order sent express",
    "return_window_extension": "your return window reopened for {days} days",
    "payment_plan": "your balance of {amount} split into weekly payments",
    "payment_deferral": "your due date moved back {days} days",
    "service_credit": "{amount} credit on your subscription",
    "goodwill_voucher": "a {amount} voucher for the trouble",
    "keep_item": "keeping the item at no charge, with no need to send it back",
    "prepaid_return": "a prepaid label to send it back for free",
}


def params(option: Option) -> dict[str, str]:
    """The amount or days to say; both empty for a remedy with no size (kind item or none)."""
    if option.size is None:
        return {"amount": "", "days": ""}
    if option.kind == "days":
        return {"days": str(option.size), "amount": ""}
    return {"amount": fmt(Decimal(option.size)), "days": ""}


def _name(remedy: str) -> str:
    return remedy.replace("_", " ")


def describe(option: Option, description: str = "") -> str:
    """`description`: the catalog's words for the remedy, used when this module has no phrase of
    its own for it (a remedy a policy owner added): "a free repair under warranty"."""
    template = _PHRASES.get(option.remedy)
    named = (description.strip() or _name(option.remedy)).replace("{", "{{").replace("}", "}}")
    if option.size is None:  # said without any amount: "a free replacement", "meal voucher"
        if template is None or "{amount}" in template or "{days}" in template:
            return named.format()
        return template
    if template is None:
        template = named + (" ({days} days)" if option.kind == "days" else " ({amount})")
    return template.format(**params(option))


def describe_plan(plan: Plan) -> str:
    first = f"{fmt(plan.first_payment)} now, then " if plan.first_payment else ""
    start = f", starting in {plan.start_in_days} days" if plan.start_in_days else ""
    return f"{first}{fmt(plan.weekly)} a week for {plan.weeks} weeks (last payment {fmt(plan.final_payment)}){start}"
