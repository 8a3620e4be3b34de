"""A company's own customers and orders, from JSON or CSV, validated before anything is written.

JSON: one object `{"customers": [...], "orders": [...]}` (either list may be absent).
CSV: one file per record type, told apart by its header row:
    customers: id, name, email, membership, joined_on
    orders:    id, customer_id, placed_on, promised_on, delivered_on, total, items,
               is_subscription, monthly_fee        (the last two optional)
Dates are YYYY-MM-DD, money a decimal ("129.00"), booleans true/false/yes/no/1/0; empty
`delivered_on` means not delivered yet. Every problem names its file, row and field, and
all of them are reported at once; nothing is written unless every row is right. Importing
the same file again changes nothing (records are upserted by id).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from makegood.customers.records import MEMBERSHIPS, Customer, Order
from makegood.errors import MakegoodError

MAX_FILE_BYTES = 50_000_000
MAX_MONEY = Decimal("1000000")
CUSTOMER_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
# The chat recognises order numbers of this form ("MG-10421", "order 10421"): others could be
# stored but never found in a conversation.
ORDER_ID = re.compile(r"^MG-\d{5}$")
CUSTOMER_FIELDS = ("id", "name", "email", "membership", "joined_on")
ORDER_FIELDS = ("id", "customer_id", "placed_on", "promised_on", "delivered_on", "total", "items")
ORDER_OPTIONAL = ("is_subscription", "monthly_fee")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0", ""}


class ImportProblems(MakegoodError):
    def __init__(self, problems: list[str]):
        shown = problems[:50]
        more = f"\n… and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s), nothing imported:\n" + "\n".join(shown) + more)
        self.problems = problems


@dataclass
class Batch:
    customers: list[Customer] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_files(paths: Iterable[Path]) -> Batch:
    batch = Batch()
    for path in paths:
        _read_file(Path(path), batch)
    return batch


def _read_file(path: Path, batch: Batch) -> None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            batch.problems.append(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
            return
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        batch.problems.append(f"{path}: cannot be read as UTF-8 text ({exc.__class__.__name__})")
        return
    if path.suffix.lower() == ".json":
        _read_json(path, text, batch)
    elif path.suffix.lower() == ".csv":
        _read_csv(path, text, batch)
    else:
        batch.problems.append(f"{path}: expected a .json or .csv file")


def _read_json(path: Path, text: str, batch: Batch) -> None:
    try:
        data = json.loads(text)
    except ValueError as exc:
        batch.problems.append(f"{path}: not valid JSON ({exc})")
        return
    if not isinstance(data, dict) or not set(data) <= {"customers", "orders"} or not data:
        batch.problems.append(f'{path}: expected an object with "customers" and/or "orders" lists')
        return
    for key, parse in (("customers", _customer), ("orders", _order)):
        rows = data.get(key, [])
        if not isinstance(rows, list):
            batch.problems.append(f"{path}: {key} must be a list")
            continue
        for n, row in enumerate(rows, 1):
            where = f"{path}: {key}[{n}]"
            if not isinstance(row, dict):
                batch.problems.append(f"{where}: must be an object")
                continue
            _add(batch, where, row, parse)


def _read_csv(path: Path, text: str, batch: Batch) -> None:
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    if set(CUSTOMER_FIELDS) <= set(header):
        parse: Callable[[Mapping[str, Any], list[str]], Any] = _customer
    elif set(ORDER_FIELDS) <= set(header):
        parse = _order
    else:
        batch.problems.append(
            f"{path}: the header must name the customer columns ({', '.join(CUSTOMER_FIELDS)}) "
            f"or the order columns ({', '.join(ORDER_FIELDS)})"
        )
        return
    known = set(CUSTOMER_FIELDS) | set(ORDER_FIELDS) | set(ORDER_OPTIONAL) | {""}
    unknown = [h for h in header if h not in known]
    if unknown:
        batch.problems.append(f"{path}: unknown column(s) {', '.join(unknown)}")
    for row in reader:
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if not isinstance(v, list)}
        _add(batch, f"{path}: row {reader.line_num}", clean, parse)


def _add(batch: Batch, where: str, row: Mapping[str, Any], parse) -> None:
    problems: list[str] = []
    record = parse(row, problems)
    if problems:
        batch.problems.extend(f"{where}: {p}" for p in problems)
    elif isinstance(record, Customer):
        batch.customers.append(record)
    else:
        batch.orders.append(record)


# -- fields ---------------------------------------------------------------------------------------
def _text(row: Mapping[str, Any], name: str, problems: list[str], *, limit: int = 200, required: bool = True) -> str:
    value = row.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        problems.append(f"{name} is missing")
    elif len(text) > limit:
        problems.append(f"{name} is longer than {limit} characters")
    return text


def _date(row: Mapping[str, Any], name: str, problems: list[str], *, required: bool = True) -> date | None:
    text = _text(row, name, problems, limit=10, required=required)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{name} must be a date as YYYY-MM-DD, got {text!r}")
        return None


def _money(row: Mapping[str, Any], name: str, problems: list[str], *, required: bool = True) -> Decimal | None:
    text = _text(row, name, problems, limit=20, required=required)
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        problems.append(f"{name} must be an amount like 129.00, got {text!r}")
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY or amount != amount.quantize(Decimal("0.01")):
        problems.append(f"{name} must be between 0 and {MAX_MONEY:,} with at most 2 decimals, got {text}")
        return None
    return amount.quantize(Decimal("0.01"))


def _bool(row: Mapping[str, Any], name: str, problems: list[str]) -> bool:
    value = row.get(name)
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text not in _FALSE:
        problems.append(f"{name} must be true or false, got {value!r}")
    return False


def _customer(row: Mapping[str, Any], problems: list[str]) -> Customer | None:
    cid = _text(row, "id", problems, limit=32).upper()
    if cid and not CUSTOMER_ID.match(cid):
        problems.append(f"id must be letters, digits, - or _ (at most 32), got {cid!r}")
    name = _text(row, "name", problems)
    email = _text(row, "email", problems)
    if email and "@" not in email:
        problems.append(f"email must be an address, got {email!r}")
    membership = _text(row, "membership", problems, limit=16).lower()
    if membership and membership not in MEMBERSHIPS:
        problems.append(f"membership must be one of {', '.join(MEMBERSHIPS)}, got {membership!r}")
    joined = _date(row, "joined_on", problems)
    if problems or joined is None:
        return None
    return Customer(id=cid, name=name, email=email, membership=membership, joined_on=joined)


def _order(row: Mapping[str, Any], problems: list[str]) -> Order | None:
    oid = _text(row, "id", problems, limit=32).upper()
    if oid and not ORDER_ID.match(oid):
        problems.append(f"id must look like MG-10421 (the form the chat recognises), got {oid!r}")
    customer_id = _text(row, "customer_id", problems, limit=32).upper()
    placed = _date(row, "placed_on", problems)
    promised = _date(row, "promised_on", problems)
    delivered = _date(row, "delivered_on", problems, required=False)
    total = _money(row, "total", problems)
    items = _text(row, "items", problems, limit=2000)
    subscription = _bool(row, "is_subscription", problems)
    fee = _money(row, "monthly_fee", problems, required=False)
    if placed and promised and promised < placed:
        problems.append("promised_on is before placed_on")
    if placed and delivered and delivered < placed:
        problems.append("delivered_on is before placed_on")
    if problems or placed is None or promised is None or total is None:
        return None
    return Order(
        id=oid,
        customer_id=customer_id,
        placed_on=placed,
        promised_on=promised,
        delivered_on=delivered,
        total=total,
        items=items,
        is_subscription=subscription,
        monthly_fee=fee,
    )


def import_records(store: Any, paths: Iterable[Path], *, dry_run: bool = False) -> dict[str, int]:
    """Validate every file, then upsert in one unit of work. Raises ImportProblems listing
    every problem (nothing written). An order's customer must be in the files or the store."""
    batch = read_files(paths)
    seen: dict[str, str] = {}
    for kind, records in (("customer", batch.customers), ("order", batch.orders)):
        for record in records:
            key = f"{kind} {record.id}"
            if key in seen:
                batch.problems.append(f"{key} appears twice")
            seen[key] = kind
    new_customers = {c.id for c in batch.customers}
    for order in batch.orders:
        if order.customer_id not in new_customers and store.customer(order.customer_id) is None:
            batch.problems.append(
                f"order {order.id}: customer_id {order.customer_id} is in neither the files nor the store"
            )
        existing = store.order(order.id)
        if existing is not None and existing.customer_id != order.customer_id:
            batch.problems.append(
                f"order {order.id} already belongs to customer {existing.customer_id}: an import never moves an order"
            )
    if batch.problems:
        raise ImportProblems(batch.problems)
    if not dry_run:
        store.upsert(batch.customers, batch.orders)
    return {"customers": len(batch.customers), "orders": len(batch.orders)}
