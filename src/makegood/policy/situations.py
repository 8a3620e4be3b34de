"""The retail catalog's situation ids, kept only for callers not yet reading the catalog.

The catalog is the one list of situations (`Catalog.situation_ids`); the engine and the loader
never read this tuple. It is the shipped retail catalog's ids (policy/catalog.yml), so the NLU
scripts and actions that still import it keep working until they switch to the catalog.
"""

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
