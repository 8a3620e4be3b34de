"""Customer and order lookup behind an interface (`CustomerStore`), a SQL implementation,
an in-memory fake for unit tests and the demo data (see `makegood.customers.demo`)."""

from makegood.customers.demo import demo_data, seed_demo
from makegood.customers.store import (
    MEMBERSHIPS, Customer, CustomerStore, ExceptionRecord, InMemoryCustomerStore, Order, SqlCustomerStore,
    customer_facts, order_facts,
)

__all__ = [
    "Customer", "CustomerStore", "ExceptionRecord", "InMemoryCustomerStore", "MEMBERSHIPS", "Order",
    "SqlCustomerStore", "customer_facts", "demo_data", "order_facts", "seed_demo",
]
