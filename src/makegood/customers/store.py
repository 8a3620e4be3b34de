"""Customer and order lookup behind an interface: `CustomerStore`.

`known_facts` is the only door from the store into a case: it returns facts the company
knows (never the customer's words), named as in the contract's fact vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy import delete, func, insert, select, true, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from makegood.customers import schema as t
from makegood.customers.demo import demo_data
from makegood.customers.records import DEMO, GRANTED, MEMBERSHIPS, Customer, ExceptionRecord, Order
from makegood.db import session_factory, unit_of_work
from makegood.errors import CaseError
from makegood.money import to_money


@runtime_checkable
class CustomerStore(Protocol):
    def customer(self, customer_id: str) -> Customer | None: ...

    def order(self, order_id: str) -> Order | None: ...

    def orders_for(self, customer_id: str) -> list[Order]: ...

    def find_customer_by_order(self, order_id: str) -> Customer | None: ...

    def known_facts(
        self, customer_id: str | None, order_id: str | None, *, today: date, period_days: int
    ) -> dict[str, object]: ...

    def record_exception(
        self,
        customer_id: str,
        order_id: str | None,
        situation: str,
        amount: object,
        when: date | datetime,
        *,
        remedy: str | None = None,
        kind: str | None = None,
        proposal_id: str | None = None,
        counts: bool = True,
        session: Session | None = None,
    ) -> ExceptionRecord: ...

    def grants_for(self, customer_id: str, *, session: Session | None = None) -> list[ExceptionRecord]: ...

    def lock_customer(self, customer_id: str, *, session: Session | None = None) -> None: ...


# -- the facts, computed the same way by every store ------------------------------------------------
def customer_facts(customer: Customer, *, today: date, recent_exceptions: int) -> dict[str, object]:
    return {
        "membership": customer.membership,
        "tenure_days": max(0, (today - customer.joined_on).days),
        "recent_exceptions": int(recent_exceptions),
    }


def order_facts(order: Order, *, today: date) -> dict[str, object]:
    facts: dict[str, object] = {
        "order_value": order.total,
        "days_since_purchase": max(0, (today - order.placed_on).days),
        "days_late": max(0, ((order.delivered_on or today) - order.promised_on).days),
        "is_subscription": bool(order.is_subscription),
    }
    if order.delivered_on is not None:
        facts["days_since_delivery"] = max(0, (today - order.delivered_on).days)
    if order.is_subscription and order.monthly_fee is not None:
        facts["monthly_fee"] = order.monthly_fee
    return facts


def period_start(today: date, period_days: int) -> date:
    """The first day counted in "the last `period_days` days": [today - period_days, today]."""
    return today - timedelta(days=int(period_days))


def _grant_record(
    customer_id: str,
    order_id: str | None,
    situation: str,
    amount: object,
    when: date | datetime,
    remedy: str | None,
    kind: str | None,
    proposal_id: str | None,
    counts: bool,
) -> ExceptionRecord:
    return ExceptionRecord(
        customer_id=canonical_customer_id(customer_id),
        order_id=canonical_order_id(order_id) or None,
        situation=_situation(situation),
        amount=to_money(amount, "exception amount"),
        granted_on=_as_date(when),
        remedy=remedy,
        kind=kind,
        proposal_id=proposal_id,
        counts=bool(counts),
    )


def canonical_order_id(order_id: object) -> str:
    return str(order_id or "").strip().upper()


def canonical_customer_id(customer_id: object) -> str:
    return str(customer_id or "").strip().upper()


def _as_date(when: date | datetime) -> date:
    return when.date() if isinstance(when, datetime) else when


class _Lookups(Protocol):
    """What `_FactsMixin.known_facts` needs of the store it is mixed into."""

    def customer(self, customer_id: str) -> Customer | None: ...

    def order(self, order_id: str) -> Order | None: ...

    def _count_exceptions(self, customer_id: str, start: date, end: date) -> int: ...


class _FactsMixin:
    """known_facts on top of customer(), order(), find_customer_by_order() and _count_exceptions()."""

    def known_facts(
        self: _Lookups, customer_id: str | None, order_id: str | None, *, today: date, period_days: int
    ) -> dict[str, object]:
        """Facts the company knows about this customer and order: membership, tenure_days,
        recent_exceptions (granted within `period_days` before `today`, both ends counted),
        order_value, days_since_purchase, days_since_delivery (only when delivered),
        days_late, is_subscription and monthly_fee (subscriptions). Unknown ids give no facts;
        an order that belongs to another customer is refused (CaseError)."""
        order = self.order(order_id) if order_id else None
        customer = self.customer(customer_id) if customer_id else None
        if customer is None and not customer_id and order is not None:
            customer = self.customer(order.customer_id)
        if order is not None and customer_id and order.customer_id != canonical_customer_id(customer_id):
            raise CaseError(f"order {order.id} does not belong to customer {canonical_customer_id(customer_id)}")
        facts: dict[str, object] = {}
        if customer is not None:
            recent = self._count_exceptions(customer.id, period_start(today, period_days), today)
            facts.update(customer_facts(customer, today=today, recent_exceptions=recent))
        if order is not None:
            facts.update(order_facts(order, today=today))
        return facts


# -- SQL --------------------------------------------------------------------------------------------
class SqlCustomerStore(_FactsMixin):
    """The customer store in the Makegood database (same engine as the ledger is fine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = session_factory(engine)
        self._read = session_factory(engine, read_only=True)

    def customer(self, customer_id: str) -> Customer | None:
        with unit_of_work(self._read) as s:
            row = (
                s.execute(select(t.customers).where(t.customers.c.id == canonical_customer_id(customer_id)))
                .mappings()
                .first()
            )
            return None if row is None else Customer(**row)

    def order(self, order_id: str) -> Order | None:
        with unit_of_work(self._read) as s:
            row = s.execute(select(t.orders).where(t.orders.c.id == canonical_order_id(order_id))).mappings().first()
            return None if row is None else Order(**row)

    def orders_for(self, customer_id: str) -> list[Order]:
        """The customer's orders, newest first."""
        query = (
            select(t.orders)
            .where(t.orders.c.customer_id == canonical_customer_id(customer_id))
            .order_by(t.orders.c.placed_on.desc(), t.orders.c.id.desc())
        )
        with unit_of_work(self._read) as s:
            return [Order(**row) for row in s.execute(query).mappings()]

    def find_customer_by_order(self, order_id: str) -> Customer | None:
        query = (
            select(t.customers)
            .join(t.orders, t.orders.c.customer_id == t.customers.c.id)
            .where(t.orders.c.id == canonical_order_id(order_id))
        )
        with unit_of_work(self._read) as s:
            row = s.execute(query).mappings().first()
            return None if row is None else Customer(**row)

    def exceptions_for(self, customer_id: str) -> list[ExceptionRecord]:
        h = t.exception_history
        query = (
            select(h)
            .where(h.c.customer_id == canonical_customer_id(customer_id))
            .order_by(h.c.granted_on.desc(), h.c.id.desc())
        )
        with unit_of_work(self._read) as s:
            rows = s.execute(query).mappings().all()
            return [ExceptionRecord(**{k: v for k, v in row.items() if k != "id"}) for row in rows]

    def _count_exceptions(self, customer_id: str, start: date, end: date) -> int:
        h = t.exception_history
        query = (
            select(func.count())
            .select_from(h)
            .where(h.c.customer_id == customer_id, h.c.counts == true(), h.c.granted_on >= start, h.c.granted_on <= end)
        )
        with unit_of_work(self._read) as s:
            return int(s.execute(query).scalar_one())

    def record_exception(
        self,
        customer_id: str,
        order_id: str | None,
        situation: str,
        amount: object,
        when: date | datetime,
        *,
        remedy: str | None = None,
        kind: str | None = None,
        proposal_id: str | None = None,
        counts: bool = True,
        session: Session | None = None,
    ) -> ExceptionRecord:
        """Remember that a remedy was granted (cumulative limits; recent_exceptions when it
        `counts`). With `session`, inside the caller's unit of work: it commits with the grant."""
        record = _grant_record(customer_id, order_id, situation, amount, when, remedy, kind, proposal_id, counts)
        if session is not None:
            self._insert_grant(session, record)
        else:
            with unit_of_work(self._write) as s:
                self._insert_grant(s, record)
        return record

    def grants_for(self, customer_id: str, *, session: Session | None = None) -> list[ExceptionRecord]:
        if session is None:
            return self.exceptions_for(customer_id)
        h = t.exception_history
        rows = session.execute(select(h).where(h.c.customer_id == canonical_customer_id(customer_id))).mappings()
        return [ExceptionRecord(**{k: v for k, v in row.items() if k != "id"}) for row in rows]

    def lock_customer(self, customer_id: str, *, session: Session | None = None) -> None:
        """Serialise grants to one customer: the caller's transaction holds the customer's row
        until it commits (SQLite: the writer lock the unit of work already holds)."""
        if session is None or session.get_bind().dialect.name == "sqlite":
            return
        c = t.customers
        session.execute(select(c.c.id).where(c.c.id == canonical_customer_id(customer_id)).with_for_update())

    @staticmethod
    def _insert_grant(s: Session, record: ExceptionRecord) -> None:
        if s.execute(select(t.customers.c.id).where(t.customers.c.id == record.customer_id)).first() is None:
            raise CaseError(f"no customer {record.customer_id}")
        if record.order_id is not None:
            owner = s.execute(select(t.orders.c.customer_id).where(t.orders.c.id == record.order_id)).scalar()
            if owner is None:
                raise CaseError(f"no order {record.order_id}")
            if owner != record.customer_id:
                raise CaseError(f"order {record.order_id} does not belong to customer {record.customer_id}")
        s.execute(insert(t.exception_history).values(**vars(record)))

    # -- loading (seed_demo, admin tools) ---------------------------------------------------------
    def upsert(
        self,
        customers: Iterable[Customer] = (),
        orders: Iterable[Order] = (),
        replace_source: str | None = None,
        exceptions: Iterable[ExceptionRecord] = (),
    ) -> None:
        """Insert or update customers and orders by id; when `replace_source` is given, the
        exception rows with that source for these customers are replaced by `exceptions`."""
        customers, orders, exceptions = list(customers), list(orders), list(exceptions)
        with unit_of_work(self._write) as s:
            for table, items in ((t.customers, customers), (t.orders, orders)):
                for item in items:
                    values = vars(item)
                    exists = s.execute(select(table.c.id).where(table.c.id == item.id)).first()
                    if exists is None:
                        s.execute(insert(table).values(**values))
                    else:
                        s.execute(update(table).where(table.c.id == item.id).values(**values))
            if replace_source is not None:
                ids = sorted({c.id for c in customers} | {e.customer_id for e in exceptions})
                h = t.exception_history
                s.execute(delete(h).where(h.c.source == replace_source, h.c.customer_id.in_(ids)))
            if exceptions:
                s.execute(insert(t.exception_history), [vars(e) for e in exceptions])


# -- in memory (unit tests) -----------------------------------------------------------------------
class InMemoryCustomerStore(_FactsMixin):
    """A fake with the same behaviour as SqlCustomerStore, for unit tests.

    store = InMemoryCustomerStore.demo(today)   # the demo customers of seed_demo
    """

    def __init__(
        self,
        customers: Iterable[Customer] = (),
        orders: Iterable[Order] = (),
        exceptions: Iterable[ExceptionRecord] = (),
    ) -> None:
        self.customers: dict[str, Customer] = {}
        self.orders: dict[str, Order] = {}
        self.exceptions: list[ExceptionRecord] = []
        self.upsert(customers, orders, exceptions=exceptions)

    @classmethod
    def demo(cls, today: date) -> InMemoryCustomerStore:
        store = cls()
        seed_demo(store, today)
        return store

    def customer(self, customer_id: str) -> Customer | None:
        return self.customers.get(canonical_customer_id(customer_id))

    def order(self, order_id: str) -> Order | None:
        return self.orders.get(canonical_order_id(order_id))

    def orders_for(self, customer_id: str) -> list[Order]:
        cid = canonical_customer_id(customer_id)
        mine = [o for o in self.orders.values() if o.customer_id == cid]
        return sorted(mine, key=lambda o: (o.placed_on, o.id), reverse=True)

    def find_customer_by_order(self, order_id: str) -> Customer | None:
        order = self.order(order_id)
        return None if order is None else self.customers.get(order.customer_id)

    def exceptions_for(self, customer_id: str) -> list[ExceptionRecord]:
        cid = canonical_customer_id(customer_id)
        return sorted((e for e in self.exceptions if e.customer_id == cid), key=lambda e: e.granted_on, reverse=True)

    def _count_exceptions(self, customer_id: str, start: date, end: date) -> int:
        return sum(
            1 for e in self.exceptions if e.customer_id == customer_id and e.counts and start <= e.granted_on <= end
        )

    def grants_for(self, customer_id: str, *, session: Session | None = None) -> list[ExceptionRecord]:
        return self.exceptions_for(customer_id)

    def lock_customer(self, customer_id: str, *, session: Session | None = None) -> None:
        return None  # one process, one list: nothing to serialise

    def record_exception(
        self,
        customer_id: str,
        order_id: str | None,
        situation: str,
        amount: object,
        when: date | datetime,
        *,
        remedy: str | None = None,
        kind: str | None = None,
        proposal_id: str | None = None,
        counts: bool = True,
        session: Session | None = None,
    ) -> ExceptionRecord:
        record = _grant_record(customer_id, order_id, situation, amount, when, remedy, kind, proposal_id, counts)
        if record.proposal_id is not None and any(e.proposal_id == record.proposal_id for e in self.exceptions):
            raise CaseError(f"{record.proposal_id} has already been granted")
        if record.customer_id not in self.customers:
            raise CaseError(f"no customer {record.customer_id}")
        if record.order_id is not None:
            order = self.orders.get(record.order_id)
            if order is None:
                raise CaseError(f"no order {record.order_id}")
            if order.customer_id != record.customer_id:
                raise CaseError(f"order {record.order_id} does not belong to customer {record.customer_id}")
        self.exceptions.append(record)
        return record

    def upsert(
        self,
        customers: Iterable[Customer] = (),
        orders: Iterable[Order] = (),
        replace_source: str | None = None,
        exceptions: Iterable[ExceptionRecord] = (),
    ) -> None:
        customers, exceptions = list(customers), list(exceptions)
        for c in customers:
            self.customers[c.id] = c
        for o in orders:
            self.orders[o.id] = o
        if replace_source is not None:
            ids = {c.id for c in customers} | {e.customer_id for e in exceptions}
            self.exceptions = [e for e in self.exceptions if not (e.source == replace_source and e.customer_id in ids)]
        self.exceptions.extend(exceptions)


def seed_demo(target: SqlCustomerStore | InMemoryCustomerStore | Engine, today: date) -> dict[str, int]:
    """Write the demo customers, orders and exception history (`makegood.customers.demo`), dated
    from `today`.

    Idempotent: customers and orders are upserted by id, and the demo's own exception rows
    (source "demo") are replaced; exceptions recorded by the assistant are left alone.
    Seeding again on a later day moves the demo dates along with it.
    Returns how many customers, orders and exception rows the demo has.
    """
    store = SqlCustomerStore(target) if isinstance(target, Engine) else target
    customers, orders, exceptions = demo_data(today)
    store.upsert(customers, orders, replace_source=DEMO, exceptions=exceptions)
    return {"customers": len(customers), "orders": len(orders), "exceptions": len(exceptions)}


def _situation(situation: str) -> str:
    if not isinstance(situation, str) or not situation.strip():
        raise CaseError(f"an exception record needs the situation it was granted for; got {situation!r}")
    return situation.strip()


__all__: Sequence[str] = (
    "DEMO",
    "GRANTED",
    "MEMBERSHIPS",
    "Customer",
    "CustomerStore",
    "ExceptionRecord",
    "InMemoryCustomerStore",
    "Order",
    "SqlCustomerStore",
    "customer_facts",
    "order_facts",
    "period_start",
    "seed_demo",
)
