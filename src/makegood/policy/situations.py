"""The situation ids. One id everywhere: catalog key, NLU intent, ledger column, API field."""

SITUATIONS: tuple[str, ...] = (
    "late_delivery",
    "lost_package",
    "damaged_item",
    "wrong_item",
    "unexpected_package",
    "late_return",
    "billing_error",
    "fee_dispute",
    "missed_payment",
    "price_drop",
    "late_cancellation",
    "service_outage",
)
