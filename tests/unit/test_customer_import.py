"""`makegood customers import`: a company's own customers and orders, validated row by row."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from makegood.customers import InMemoryCustomerStore, SqlCustomerStore
from makegood.customers.importer import ImportProblems, import_records
from makegood.db import make_engine, migrate

CUSTOMERS = """id,name,email,membership,joined_on
c-2001,Ada Lovelace,ada@example.com,Gold,2021-04-01
C-2002,Alan Turing,alan@example.com,standard,2024-01-15
"""
ORDERS = """id,customer_id,placed_on,promised_on,delivered_on,total,items,is_subscription,monthly_fee
MG-20001,C-2001,2026-11-01,2026-11-05,,129.00,Teapot,no,
MG-20002,C-2002,2026-10-01,2026-10-03,2026-10-03,14.99,Streaming plan,yes,14.99
"""


def files(tmp_path, customers=CUSTOMERS, orders=ORDERS):
    (tmp_path / "customers.csv").write_text(customers)
    (tmp_path / "orders.csv").write_text(orders)
    return [tmp_path / "customers.csv", tmp_path / "orders.csv"]


def test_csv_files_load_customers_and_orders_and_a_second_import_changes_nothing(tmp_path):
    store = InMemoryCustomerStore()
    assert import_records(store, files(tmp_path)) == {"customers": 2, "orders": 2}
    assert store.customer("C-2001").membership == "gold"
    teapot = store.order("MG-20001")
    assert teapot.customer_id == "C-2001" and teapot.delivered_on is None and teapot.total == Decimal("129.00")
    assert store.order("MG-20002").is_subscription and store.order("MG-20002").monthly_fee == Decimal("14.99")
    import_records(store, files(tmp_path))
    assert len(store.customers) == 2 and len(store.orders) == 2


def test_json_loads_the_same_records(tmp_path):
    path = tmp_path / "records.json"
    path.write_text(
        json.dumps(
            {
                "customers": [
                    {"id": "C-2001", "name": "Ada", "email": "a@x.io", "membership": "gold", "joined_on": "2021-04-01"}
                ],
                "orders": [
                    {
                        "id": "MG-20001",
                        "customer_id": "C-2001",
                        "placed_on": "2026-11-01",
                        "promised_on": "2026-11-05",
                        "delivered_on": "2026-11-06",
                        "total": "59.90",
                        "items": "Kettle",
                    }
                ],
            }
        )
    )
    store = InMemoryCustomerStore()
    import_records(store, [path])
    assert store.order("MG-20001").delivered_on == date(2026, 11, 6)


def test_every_problem_names_file_row_and_field_and_nothing_is_written(tmp_path):
    bad_customers = CUSTOMERS + "C-2003,Grace,not-an-email,diamond,2020-13-01\n"
    bad_orders = ORDERS + "ORD-7,C-9999,2026-11-05,2026-11-01,,-3,Lamp,maybe,\n"
    store = InMemoryCustomerStore()
    with pytest.raises(ImportProblems) as raised:
        import_records(store, files(tmp_path, bad_customers, bad_orders))
    problems = "\n".join(raised.value.problems)
    for expected in (
        "customers.csv: row 4: email must be an address",
        "customers.csv: row 4: membership must be one of standard, silver, gold, platinum, got 'diamond'",
        "customers.csv: row 4: joined_on must be a date as YYYY-MM-DD, got '2020-13-01'",
        "orders.csv: row 4: id must look like MG-10421",
        "orders.csv: row 4: total must be between 0 and 1,000,000",
        "orders.csv: row 4: is_subscription must be true or false",
        "orders.csv: row 4: promised_on is before placed_on",
    ):
        assert expected in problems, problems
    assert store.customers == {} and store.orders == {}


def test_an_order_needs_a_known_customer_and_is_never_moved_to_another(tmp_path):
    store = InMemoryCustomerStore.demo(date(2026, 11, 23))
    orphan = (
        "id,customer_id,placed_on,promised_on,delivered_on,total,items\nMG-20009,C-9999,2026-11-01,2026-11-02,,1,X\n"
    )
    moved = (
        "id,customer_id,placed_on,promised_on,delivered_on,total,items\nMG-10422,C-1003,2026-11-01,2026-11-02,,1,X\n"
    )
    for body, message in (
        (orphan, "customer_id C-9999 is in neither the files nor the store"),
        (moved, "order MG-10422 already belongs to customer C-1001"),
    ):
        (tmp_path / "o.csv").write_text(body)
        with pytest.raises(ImportProblems, match=message):
            import_records(store, [tmp_path / "o.csv"])
    assert store.order("MG-10422").customer_id == "C-1001"


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("x.txt", "hello", "expected a .json or .csv file"),
        ("x.json", "{nope", "not valid JSON"),
        ("x.json", "[1, 2]", 'expected an object with "customers" and/or "orders"'),
        ("x.csv", "a,b\n1,2\n", "the header must name the customer columns"),
    ],
)
def test_malformed_files_get_a_clear_error(tmp_path, name, body, message):
    (tmp_path / name).write_text(body)
    with pytest.raises(ImportProblems, match=message):
        import_records(InMemoryCustomerStore(), [tmp_path / name])


def test_the_cli_imports_into_the_database_and_mints_tokens_for_known_customers(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    env = {"MAKEGOOD_DATABASE_URL": url, "MAKEGOOD_IDENTITY_SECRET": "s" * 32, "PATH": ""}
    cli = [sys.executable, "-m", "makegood.cli"]
    done = subprocess.run(
        [*cli, "customers", "import", *map(str, files(tmp_path))], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "imported 2 customers, 2 orders" in done.stdout
    migrate(url)
    engine = make_engine(url)
    assert SqlCustomerStore(engine).order("MG-20001").customer_id == "C-2001"
    engine.dispose()
    token = subprocess.run([*cli, "customers", "token", "C-2001"], env=env, capture_output=True, text=True)
    assert token.returncode == 0, token.stderr
    from makegood.customers.identity import verify

    assert verify(token.stdout.strip(), "s" * 32) == "C-2001"
    unknown = subprocess.run([*cli, "customers", "token", "C-4040"], env=env, capture_output=True, text=True)
    assert unknown.returncode != 0 and "no customer C-4040" in unknown.stderr
