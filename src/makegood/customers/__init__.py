"""Customer and order lookup behind an interface (`CustomerStore`), a SQL implementation,
an in-memory fake for unit tests and the demo data (see `makegood.customers.demo`)."""

from makegood.customers.demo import demo_data
from makegood.customers.records import MEMBERSHIPS, Customer, ExceptionRecord, Order
from makegood.customers.store import (
    CustomerStore,
    InMemoryCustomerStore,
    SqlCustomerStore,
    customer_facts,
    order_facts,
    seed_demo,
)

__all__ = [
    "MEMBERSHIPS",
    "Customer",
    "CustomerStore",
    "ExceptionRecord",
    "InMemoryCustomerStore",
    "Order",
    "SqlCustomerStore",
    "customer_facts",
    "demo_data",
    "order_facts",
    "seed_demo",
]
