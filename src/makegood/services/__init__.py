"""The use cases, in one place: entry points (actions, desk, CLI) call these, and these call
the engine (`makegood.policy`) and the stores (`makegood.ledger`, `makegood.customers`)."""
