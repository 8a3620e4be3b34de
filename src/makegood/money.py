"""Money is Decimal end to end, quantised to cents. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from makegood.errors import CaseError

CENT = Decimal("0.01")
# Anything above this is a typo or an attack, not a customer-service case.
ABSURD_AMOUNT = Decimal("1000000")


def to_money(value: object, what: str = "amount") -> Decimal:
    """Parse a user- or file-supplied amount into cents. Rejects floats' cousins:
    NaN, infinities, negatives and absurd values, with a message naming `what`."""
    if isinstance(value, bool):
        raise CaseError(f"{what} must be an amount of money, not {value!r}")
    if isinstance(value, float):
        value = repr(value)  # float -> its shortest exact text, never binary noise
    text = str(value).strip().replace(",", "")
    if text.startswith("$"):
        text = text[1:]
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        raise CaseError(f"{what} must be an amount of money, got {value!r}") from None
    if not amount.is_finite():
        raise CaseError(f"{what} must be a finite amount, got {value!r}")
    if amount < 0:
        raise CaseError(f"{what} cannot be negative, got {value!r}")
    if amount > ABSURD_AMOUNT:
        raise CaseError(f"{what} of {value} is beyond any case Makegood handles (max {ABSURD_AMOUNT})")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def cents(amount: Decimal) -> Decimal:
    """Round an already-valid Decimal to cents."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(amount: Decimal) -> str:
    """$45 for whole amounts, $45.50 otherwise: what a person would write."""
    amount = cents(amount)
    if amount == amount.to_integral_value():
        return f"${int(amount):,}"
    return f"${amount:,.2f}"
