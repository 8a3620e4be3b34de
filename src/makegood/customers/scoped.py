"""The customer store as one chat may see it: only the bound customer's orders.

An order that belongs to someone else is answered exactly like one that does not exist
(the customer hears "I can't find that order on your account"), and the attempt is logged.
A chat nobody is bound to may not look orders up at all (`SignInRequired`), unless the
deployment runs in the development-only `open` mode where an order number names its owner.
"""

from __future__ import annotations

import logging
from typing import Any

from makegood.customers.records import Customer, Order
from makegood.errors import MakegoodError

log = logging.getLogger("makegood.security")

REQUIRED = "required"
OPEN = "open"
MODES = (REQUIRED, OPEN)


class SignInRequired(MakegoodError):
    """An anonymous chat asked about an order: it must come from a signed-in customer."""

    def __init__(self, order_id: str):
        super().__init__(f"order {order_id} asked about in a chat with no signed-in customer")
        self.order_id = order_id


class ScopedCustomers:
    """Wraps a CustomerStore; everything not about finding an order or a customer passes through."""

    def __init__(self, store: Any, customer_id: str | None, *, mode: str = REQUIRED, conversation: str = ""):
        if mode not in MODES:
            raise MakegoodError(f"identity mode must be one of {', '.join(MODES)}, got {mode!r}")
        self._store = store
        self.customer_id = customer_id
        self.mode = mode
        self.conversation = conversation

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _visible(self, owner: str | None, order_id: str) -> bool:
        if self.customer_id is not None:
            if owner is not None and owner != self.customer_id:
                log.warning(
                    "conversation %s (customer %s) asked about order %s of another customer: answered as not found",
                    self.conversation or "?",
                    self.customer_id,
                    order_id,
                )
            return owner is not None and owner == self.customer_id
        if self.mode == OPEN:
            return owner is not None
        raise SignInRequired(order_id)

    def find_customer_by_order(self, order_id: str) -> Customer | None:
        owner = self._store.find_customer_by_order(order_id)
        return owner if self._visible(owner.id if owner else None, order_id) else None

    def order(self, order_id: str) -> Order | None:
        found = self._store.order(order_id)
        return found if self._visible(found.customer_id if found else None, order_id) else None

    def customer(self, customer_id: str) -> Customer | None:
        if self.customer_id is not None and customer_id != self.customer_id:
            return None
        return self._store.customer(customer_id)

    def orders_for(self, customer_id: str) -> list[Order]:
        if self.customer_id is not None and customer_id != self.customer_id:
            return []
        return list(self._store.orders_for(customer_id))
