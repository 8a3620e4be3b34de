"""The customer store: facts the company knows, from the seeded demo data (fixed `today`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from makegood.customers import (
    CustomerStore,
    InMemoryCustomerStore,
    SqlCustomerStore,
    demo_data,
    seed_demo,
)
from makegood.db import make_engine, migrate
from makegood.errors import CaseError

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 23)  # the demo's dates are relative to this
PERIOD = 90


@pytest.fixture
def store(engine):
    store = SqlCustomerStore(engine)
    seed_demo(store, TODAY)
    return store


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def any_store(request, make_backend_url):
    """The seeded demo in each store: SQL on both backends, and the in-memory fake."""
    if request.param == "memory":
        yield InMemoryCustomerStore.demo(TODAY)
        return
    engine = make_engine(make_backend_url(request.param))
    migrate(engine)
    store = SqlCustomerStore(engine)
    seed_demo(store, TODAY)
    yield store
    engine.dispose()


def facts(store, order_id=None, customer_id=None, today=TODAY):
    return store.known_facts(customer_id, order_id, today=today, period_days=PERIOD)


def test_both_stores_are_customer_stores(store):
    assert isinstance(store, CustomerStore) and isinstance(InMemoryCustomerStore(), CustomerStore)


def test_late_and_not_delivered(any_store):
    f = facts(any_store, "MG-10421")
    assert f == {
        "membership": "gold",
        "tenure_days": 1500,
        "recent_exceptions": 0,
        "order_value": Decimal("89.99"),
        "days_since_purchase": 12,
        "days_late": 5,
        "is_subscription": False,
    }
    assert "days_since_delivery" not in f and "monthly_fee" not in f


def test_delivered_late_counts_to_the_delivery_day(any_store):
    f = facts(any_store, "MG-10431")
    assert (f["days_late"], f["days_since_delivery"], f["tenure_days"]) == (8, 2, 20)


def test_not_yet_due_is_zero_days_late(any_store):
    f = facts(any_store, "MG-10432")
    assert f["days_late"] == 0 and "days_since_delivery" not in f


def test_on_time_delivery_is_zero_days_late(any_store):
    f = facts(any_store, "MG-10422")
    assert (f["days_late"], f["days_since_delivery"], f["order_value"]) == (0, 3, Decimal("129.00"))


def test_subscriptions_carry_their_monthly_fee(any_store):
    f = facts(any_store, "MG-10461")
    assert f["is_subscription"] is True and f["monthly_fee"] == Decimal("14.99")
    assert isinstance(f["order_value"], Decimal)


@pytest.mark.parametrize(
    "customer_id, recent",
    [
        ("C-1001", 0),
        ("C-1002", 0),
        ("C-1003", 1),
        ("C-1004", 3),
        ("C-1006", 2),
        ("C-1008", 5),
    ],
)
def test_recent_exceptions_count_only_the_period(any_store, customer_id, recent):
    assert facts(any_store, customer_id=customer_id)["recent_exceptions"] == recent


def test_the_period_includes_both_ends(any_store):
    any_store.record_exception("C-1002", None, "late_delivery", "10", TODAY - timedelta(days=PERIOD))
    any_store.record_exception("C-1002", "MG-10431", "late_delivery", Decimal("5.00"), TODAY)
    any_store.record_exception("C-1002", None, "late_delivery", "10", TODAY - timedelta(days=PERIOD + 1))
    assert facts(any_store, customer_id="C-1002")["recent_exceptions"] == 2
    assert facts(any_store, customer_id="C-1002", today=TODAY + timedelta(days=1))["recent_exceptions"] == 1


def test_record_exception_accepts_datetimes_and_checks_ids(any_store):
    record = any_store.record_exception(
        "c-1007", "mg-10481", "damaged_item", "45", datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc)
    )
    assert (record.customer_id, record.order_id, record.amount, record.granted_on) == (
        "C-1007",
        "MG-10481",
        Decimal("45.00"),
        date(2026, 11, 22),
    )
    with pytest.raises(CaseError, match="no customer C-9999"):
        any_store.record_exception("C-9999", None, "damaged_item", "5", TODAY)
    with pytest.raises(CaseError, match="order MG-10421 does not belong to customer C-1007"):
        any_store.record_exception("C-1007", "MG-10421", "damaged_item", "5", TODAY)
    with pytest.raises(CaseError, match="cannot be negative"):
        any_store.record_exception("C-1007", None, "damaged_item", "-5", TODAY)


def test_lookups(any_store):
    assert any_store.customer("C-1003").name == "Chloe Martin"
    assert any_store.order("mg-10441").total == Decimal("1249.00")
    assert any_store.find_customer_by_order("MG-10443").id == "C-1003"
    assert [o.id for o in any_store.orders_for("C-1003")] == ["MG-10442", "MG-10443", "MG-10441"]
    assert any_store.customer("C-0000") is None and any_store.order("MG-00000") is None
    assert any_store.find_customer_by_order("MG-00000") is None


def test_only_known_facts_and_never_someone_elses_order(any_store):
    assert facts(any_store, "MG-00000") == {}
    assert facts(any_store, None, None) == {}
    assert set(facts(any_store, customer_id="C-1001")) == {"membership", "tenure_days", "recent_exceptions"}
    with pytest.raises(CaseError, match="order MG-10421 does not belong to customer C-1002"):
        facts(any_store, "MG-10421", customer_id="C-1002")


def test_memory_and_sql_stores_agree_on_every_demo_order(store):
    memory = InMemoryCustomerStore.demo(TODAY)
    _, orders, _ = demo_data(TODAY)
    for order in orders:
        assert facts(store, order.id, order.customer_id) == facts(memory, order.id, order.customer_id), order.id


def test_seeding_is_idempotent_and_keeps_granted_exceptions(engine):
    store = SqlCustomerStore(engine)
    assert seed_demo(engine, TODAY) == {"customers": 8, "orders": 21, "exceptions": 15}
    store.record_exception("C-1001", "MG-10422", "damaged_item", "20", TODAY)
    before = {o.id: o for c in ("C-1001", "C-1008") for o in store.orders_for(c)}
    seed_demo(store, TODAY)
    seed_demo(engine, TODAY)
    assert {o.id: o for c in ("C-1001", "C-1008") for o in store.orders_for(c)} == before
    assert len(store.exceptions_for("C-1008")) == 7
    assert facts(store, customer_id="C-1001")["recent_exceptions"] == 1  # the granted one survived


def test_seeding_on_a_later_day_moves_the_demo_along(engine):
    seed_demo(engine, TODAY)
    later = TODAY + timedelta(days=30)
    seed_demo(engine, later)
    store = SqlCustomerStore(engine)
    assert facts(store, "MG-10421", today=later)["days_late"] == 5
    assert facts(store, customer_id="C-1004", today=later)["recent_exceptions"] == 3


def test_demo_covers_every_membership_and_the_situations_it_promises():
    customers, orders, _exceptions = demo_data(TODAY)
    assert {c.membership for c in customers} == {"standard", "silver", "gold", "platinum"}
    assert any(o.is_subscription for o in orders) and any(o.delivered_on is None for o in orders)
    assert max(o.total for o in orders) > 500 and min(o.total for o in orders) < 20
    assert len({o.id for o in orders}) == len(orders)
