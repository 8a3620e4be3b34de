"""Entity names, shared by the pipeline builder, `extract` and the Rasa component.
They double as Rasa entity names, so they must match the domain's `entities:` list."""

AMOUNT = "amount"  # value: Decimal string with 2 places, "45.00"
PERCENT = "percent"  # value: "20", "12.5" (no % sign)
ORDER_ID = "order_id"  # value: canonical "MG-10421"
DURATION = "duration_days"  # value: whole days as an int string, "14"
DURATION_HOURS = "duration_hours"  # value: whole hours, "6" (same span as duration_days)
FREQUENCY = "frequency"  # value: "week", "month" or "fortnight"

ALL = (AMOUNT, PERCENT, ORDER_ID, DURATION, DURATION_HOURS, FREQUENCY)
