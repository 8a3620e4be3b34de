"""Demo customers and orders, dated relative to `today` (T) so the demo always means the same.

"Recent" exceptions are those granted within the catalog's 90-day period.

| customer | name         | membership | joined | recent exceptions           |
|----------|--------------|------------|--------|-----------------------------|
| C-1001   | Ana Souza    | gold       | T-1500 | 0 (one 200 days ago)        |
| C-1002   | Ben Okafor   | standard   | T-20   | 0 (new customer)            |
| C-1003   | Chloe Martin | platinum   | T-2900 | 1                           |
| C-1004   | Dev Patel    | silver     | T-400  | 3: an agent's limit (+1 old) |
| C-1005   | Emma Larsen  | standard   | T-900  | 0 (subscriber)              |
| C-1006   | Farid Haddad | gold       | T-150  | 2: the bot's limit          |
| C-1007   | Grace Kim    | platinum   | T-60   | 0 (new, high value)         |
| C-1008   | Hugo Weber   | silver     | T-3000 | 5: beyond a peer's (+2 old) |

| order    | customer | total    | what it illustrates                                                  |
|----------|----------|----------|-----------------------------------------------------------------------|
| MG-10421 | C-1001   |    89.99 | late delivery: 5 days late, not delivered                             |
| MG-10422 | C-1001   |   129.00 | damaged item: delivered on time 3 days ago                            |
| MG-10423 | C-1001   |    64.50 | late return: delivered 45 days ago (15 past the window), gold member  |
| MG-10431 | C-1002   |    42.00 | delivered 8 days late, 2 days ago; new standard customer              |
| MG-10432 | C-1002   |    19.99 | in transit, due in 3 days: not late (late_delivery not eligible)      |
| MG-10441 | C-1003   | 1,249.00 | high value, 14 days late, not delivered: full refund needs a manager  |
| MG-10442 | C-1003   |   349.00 | price drop: bought 6 days ago (inside price protection)               |
| MG-10443 | C-1003   |   219.00 | lost package: marked delivered 4 days ago                             |
| MG-10451 | C-1004   |    58.00 | wrong item: delivered yesterday; customer at the agent's limit        |
| MG-10452 | C-1004   |    74.99 | damaged, delivered 10 days ago (an exception was already granted)     |
| MG-10461 | C-1005   |    14.99 | subscription renewed 3 days ago: late cancellation ($14.99 a month)   |
| MG-10462 | C-1005   |    12.50 | late return, low value: delivered 35 days ago, standard member        |
| MG-10463 | C-1005   |    14.99 | subscription renewal 33 days ago: too old to reverse                  |
| MG-10471 | C-1006   |    29.99 | subscription, current period: service outage ($29.99 a month)        |
| MG-10472 | C-1006   |   189.00 | 11 days late: full refund above an agent's cap, a peer decision       |
| MG-10481 | C-1007   |   899.00 | high value damaged item, delivered 4 days ago                         |
| MG-10482 | C-1007   |    35.00 | unexpected package: a vase she never ordered                          |
| MG-10483 | C-1007   |    39.00 | delivered 20 days ago, low value                                      |
| MG-10491 | C-1008   |   120.00 | 7 days late, not delivered; customer beyond a peer's exception limit  |
| MG-10492 | C-1008   |   250.00 | delivered 120 days ago: past every window                             |
| MG-10493 | C-1008   |    79.00 | price drop 20 days after purchase: past price protection              |
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from makegood.customers.records import DEMO, Customer, ExceptionRecord, Order


def _d(value: str) -> Decimal:
    return Decimal(value)


def demo_data(today: date) -> tuple[list[Customer], list[Order], list[ExceptionRecord]]:
    def ago(days: int) -> date:
        return today - timedelta(days=days)

    customers = [
        Customer("C-1001", "Ana Souza", "ana.souza@example.com", "gold", ago(1500)),
        Customer("C-1002", "Ben Okafor", "ben.okafor@example.com", "standard", ago(20)),
        Customer("C-1003", "Chloe Martin", "chloe.martin@example.com", "platinum", ago(2900)),
        Customer("C-1004", "Dev Patel", "dev.patel@example.com", "silver", ago(400)),
        Customer("C-1005", "Emma Larsen", "emma.larsen@example.com", "standard", ago(900)),
        Customer("C-1006", "Farid Haddad", "farid.haddad@example.com", "gold", ago(150)),
        Customer("C-1007", "Grace Kim", "grace.kim@example.com", "platinum", ago(60)),
        Customer("C-1008", "Hugo Weber", "hugo.weber@example.com", "silver", ago(3000)),
    ]

    def order(oid, cid, placed, promised, delivered, total, items, monthly_fee=None):
        return Order(
            oid,
            cid,
            ago(placed),
            ago(promised),
            None if delivered is None else ago(delivered),
            _d(total),
            items,
            monthly_fee is not None,
            None if monthly_fee is None else _d(monthly_fee),
        )

    orders = [
        order("MG-10421", "C-1001", 12, 5, None, "89.99", "Trail running shoes"),
        order("MG-10422", "C-1001", 8, 3, 3, "129.00", "Ceramic dinner set, 12 pieces"),
        order("MG-10423", "C-1001", 50, 45, 45, "64.50", "Wool sweater"),
        order("MG-10431", "C-1002", 16, 10, 2, "42.00", "Phone case and charger"),
        order("MG-10432", "C-1002", 2, -3, None, "19.99", "Paperback novel"),
        order("MG-10441", "C-1003", 25, 14, None, "1249.00", "Espresso machine"),
        order("MG-10442", "C-1003", 6, 2, 2, "349.00", "Noise-cancelling headphones"),
        order("MG-10443", "C-1003", 20, 4, 4, "219.00", "Smart watch"),
        order("MG-10451", "C-1004", 5, 1, 1, "58.00", "Running jacket, size M"),
        order("MG-10452", "C-1004", 14, 10, 10, "74.99", "Desk lamp"),
        order("MG-10461", "C-1005", 3, 3, 3, "14.99", "Makegood Streaming, monthly plan", monthly_fee="14.99"),
        order("MG-10462", "C-1005", 40, 35, 35, "12.50", "Phone stand"),
        order("MG-10463", "C-1005", 33, 33, 33, "14.99", "Makegood Streaming, monthly plan", monthly_fee="14.99"),
        order("MG-10471", "C-1006", 10, 10, 10, "29.99", "Makegood Music Family, monthly plan", monthly_fee="29.99"),
        order("MG-10472", "C-1006", 20, 14, 3, "189.00", "Hiking backpack"),
        order("MG-10481", "C-1007", 9, 4, 4, "899.00", "4K television, 55 inch"),
        order("MG-10482", "C-1007", 7, 2, 2, "35.00", "Ceramic vase (not ordered: sent in error)"),
        order("MG-10483", "C-1007", 25, 20, 20, "39.00", "Yoga mat"),
        order("MG-10491", "C-1008", 15, 7, None, "120.00", "Coffee grinder"),
        order("MG-10492", "C-1008", 130, 125, 120, "250.00", "Office chair"),
        order("MG-10493", "C-1008", 20, 15, 15, "79.00", "Bluetooth speaker"),
    ]

    def exc(cid, days, situation, amount, order_id=None):
        return ExceptionRecord(cid, order_id, situation, _d(amount), ago(days), DEMO)

    exceptions = [
        exc("C-1001", 200, "damaged_item", "30.00"),
        exc("C-1003", 30, "late_delivery", "25.00"),
        exc("C-1004", 10, "damaged_item", "15.00", "MG-10452"),
        exc("C-1004", 40, "late_delivery", "15.00"),
        exc("C-1004", 85, "fee_dispute", "10.00"),
        exc("C-1004", 95, "price_drop", "12.00"),
        exc("C-1006", 5, "late_delivery", "20.00"),
        exc("C-1006", 60, "fee_dispute", "15.00"),
        exc("C-1008", 3, "late_delivery", "10.00"),
        exc("C-1008", 20, "damaged_item", "40.00"),
        exc("C-1008", 45, "fee_dispute", "15.00"),
        exc("C-1008", 70, "late_return", "25.00"),
        exc("C-1008", 88, "price_drop", "8.00"),
        exc("C-1008", 150, "late_delivery", "12.00"),
        exc("C-1008", 300, "wrong_item", "10.00"),
    ]
    return customers, orders, exceptions
