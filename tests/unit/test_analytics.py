"""Every analytics figure on the seeded ledger (tests/support/seeded_ledger.py), worked out by hand.

The catalog is the real one (policy/catalog.yml). The arithmetic, case by case:

- damaged_item, order $100: the bot may give a partial refund of min($25, 30% of $100) = $25; an agent
  min($75, 50%) = $50; a peer min($150, 100%) = $100. So $20 (P1) is the bot's, $40 (P3) needs an agent
  ($15 over the bot's $25), $60 (P2) needs a peer ($35 over).
- late_delivery, order $200: an agent may give store credit min($50, 25% of $200) = $50, a peer
  min($100, 40%) = $80; alice's ask of $60 (P5) needs a peer, $10 over hers.
- cost factors: partial_refund 1.0, store_credit 0.6, shipping_upgrade 0.6. Given: P1 $20 -> $20.00,
  P2 $60 -> $60.00, P4 $12 -> $7.20, P5 $60 -> $36.00. P3 was rejected, P6 only offered.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from makegood.errors import CaseError
from makegood.ledger import Ledger
from makegood.policy import load_catalog
from makegood.services import analytics
from makegood.services.analytics import AnalyticsForbidden, Filters, Viewer
from tests.support.seeded_ledger import seed

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
D = Decimal


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "policy")


@pytest.fixture
def seeded(tmp_path, catalog):
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    ids = seed(ledger, catalog.version)
    yield SimpleNamespace(catalog=catalog, ledger=ledger), ids
    ledger.dispose()


def rows(figures, name):
    return figures.tables[name].rows


SUPERVISOR = Viewer("sam", "supervisor")


def test_every_figure_on_the_seeded_ledger(seeded):
    services, _ids = seeded
    f = analytics.figures(services, Filters(), SUPERVISOR)

    assert f.cases == 6
    assert f.scope == "all cases"
    # Weeks start on Monday: 2, 3 Nov are the week of 2 Nov; 10, 11, 12 Nov the week of 9 Nov.
    assert rows(f, "exceptions") == [
        ("2026-11-02", "damaged_item", 3),
        ("2026-11-09", "damaged_item", 1),
        ("2026-11-09", "late_delivery", 2),
    ]
    assert analytics.weekly_totals(f.tables["exceptions"]) == [("2026-11-02", 3), ("2026-11-09", 3)]
    # Asked: 20 + 60 + 40 on damaged items, of which P1 ($20) and P2 ($60) were given; P5's $60.
    assert rows(f, "asked_vs_given") == [
        ("damaged_item", 3, D("120.00"), 2, D("80.00")),
        ("late_delivery", 1, D("60.00"), 1, D("60.00")),
    ]
    # Where limits pinch: P2 ($35 over) and P3 ($15 over) at the bot's $25 cap; P5 $10 over alice's $50.
    assert rows(f, "limits") == [
        (
            "damaged_item",
            "partial_refund",
            "self_service",
            "damaged_item.partial_refund.caps.self_service.max_amount",
            2,
            D("50.00"),
            D("35.00"),
        ),
        (
            "late_delivery",
            "store_credit",
            "agent",
            "late_delivery.store_credit.caps.agent.max_amount",
            1,
            D("10.00"),
            D("10.00"),
        ),
    ]
    # To a person: P2 (approved, co-signed), P3 (escalated, rejected), P5 (co-signed, approved).
    assert rows(f, "outcomes") == [
        ("approved", 2, D("66.7")),
        ("co-signed", 2, D("66.7")),
        ("rejected", 1, D("33.3")),
        ("escalated", 1, D("33.3")),
        ("still open", 0, D("0.0")),
    ]
    # P2: 11:00 -> 15:00 = 4 h; P3: 09:00 -> 11:00 = 2 h; P5: 12:00 -> 15:00 = 3 h.
    assert rows(f, "time_to_decision") == [
        ("damaged_item", 2, D("3.0"), D("3.0")),
        ("late_delivery", 1, D("3.0"), D("3.0")),
    ]
    assert rows(f, "reviews_by_situation") == [("damaged_item", 1, 0), ("late_delivery", 0, 1)]
    # P2: alice and bob co-signed a bot handoff; P5: alice asked, bob co-signed.
    assert rows(f, "reviews_by_pair") == [("alice + bob", 1, 1)]
    assert rows(f, "cost") == [
        ("damaged_item", "self_service", 1, D("20.00")),
        ("damaged_item", "peer", 1, D("60.00")),
        ("late_delivery", "self_service", 1, D("7.20")),
        ("late_delivery", "peer", 1, D("36.00")),
    ]
    assert analytics.cost_by_situation(f.tables["cost"]) == [
        ("damaged_item", D("80.00")),
        ("late_delivery", D("43.20")),
    ]
    assert rows(f, "handoff_reasons") == [("customer insists on $40", 1), ("customer insists on $60", 1)]
    # Nobody has rated these chats (ratings are tested below, with and without their table).
    assert f.tables.get("ratings") is None or f.tables["ratings"].rows == []


def test_date_range_and_situation_filters(seeded):
    services, _ids = seeded
    week2 = analytics.figures(services, Filters.parse("2026-11-09", "2026-11-15"), SUPERVISOR)
    assert week2.cases == 3  # P4, P5, P6
    assert rows(week2, "exceptions") == [("2026-11-09", "damaged_item", 1), ("2026-11-09", "late_delivery", 2)]
    assert rows(week2, "cost") == [
        ("late_delivery", "self_service", 1, D("7.20")),
        ("late_delivery", "peer", 1, D("36.00")),
    ]

    late = analytics.figures(services, Filters.parse(situation="late_delivery"), SUPERVISOR)
    assert late.cases == 2
    assert rows(late, "outcomes")[0] == ("approved", 1, D("100.0"))
    assert rows(late, "handoff_reasons") == []

    one_day = analytics.figures(services, Filters.parse("2026-11-03", "2026-11-03"), SUPERVISOR)
    assert one_day.cases == 1  # P3
    assert rows(one_day, "outcomes")[2] == ("rejected", 1, D("100.0"))


def test_an_agent_sees_only_the_cases_they_requested_or_decided(seeded):
    services, _ids = seeded
    alice = analytics.figures(services, Filters(), Viewer("alice", "agent"))
    # alice co-signed P2, escalated P3 and asked for P5.
    assert alice.cases == 3
    assert alice.scope == "cases alice requested or decided"
    assert rows(alice, "exceptions") == [("2026-11-02", "damaged_item", 2), ("2026-11-09", "late_delivery", 1)]
    assert rows(alice, "cost") == [("damaged_item", "peer", 1, D("60.00")), ("late_delivery", "peer", 1, D("36.00"))]
    # Asking for her own figures by name is the same; anyone else's is refused.
    assert analytics.figures(services, Filters(agent="Alice"), Viewer("alice", "agent")).cases == 3
    with pytest.raises(AnalyticsForbidden, match="sees only their own figures, not bob's"):
        analytics.figures(services, Filters(agent="bob"), Viewer("alice", "agent"))
    # A supervisor may look at one agent's cases: bob co-signed P2 and P5.
    assert analytics.figures(services, Filters(agent="bob"), SUPERVISOR).cases == 2


def test_filters_are_checked(catalog):
    with pytest.raises(CaseError, match="from must be a date written YYYY-MM-DD, got '11/02/2026'"):
        Filters.parse("11/02/2026")
    with pytest.raises(CaseError, match="the date range is empty: from 2026-11-10 is after to 2026-11-09"):
        Filters.parse("2026-11-10", "2026-11-09")
    with pytest.raises(CaseError, match="unknown situation 'haunted_parcel'"):
        Filters.parse(situation="haunted_parcel", catalog=catalog)
    with pytest.raises(AnalyticsForbidden):
        analytics.scoped(Filters(), Viewer("eve", "customer"))


def test_an_empty_ledger_gives_empty_figures(tmp_path, catalog):
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    f = analytics.figures(SimpleNamespace(catalog=catalog, ledger=ledger), Filters(), SUPERVISOR)
    assert f.cases == 0
    assert all(t.rows == [] for name, t in f.tables.items() if name != "outcomes")
    assert rows(f, "outcomes")[0] == ("approved", 0, D("0.0"))
    ledger.dispose()


# The ratings table as the live-takeover work's migration (0007_ratings) writes it. Each test sets
# the table up itself, so the figures are checked whatever migration head this tree is at.
RATINGS_TABLE = (
    "CREATE TABLE ratings (id INTEGER PRIMARY KEY, conversation_id VARCHAR(128) NOT NULL, "
    "proposal_id VARCHAR(16), situation VARCHAR(64), customer_id VARCHAR(32), stars INTEGER NOT NULL, "
    "comment TEXT NOT NULL, reopened BOOLEAN NOT NULL, created_at DATETIME NOT NULL)"
)


def ratings_table(services, ddl, *rows):
    with services.ledger.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS ratings"))
        if ddl:
            connection.execute(text(ddl))
        for sql, values in rows:
            connection.execute(text(sql), values)


def rated(conversation, proposal, stars):
    sql = (
        "INSERT INTO ratings (conversation_id, proposal_id, stars, comment, reopened, created_at) "
        "VALUES (:c, :p, :s, '', 0, '2026-11-20 10:00:00')"
    )
    return sql, {"c": conversation, "p": proposal, "s": stars}


def test_ratings_by_the_situation_of_the_case_rated(seeded):
    services, ids = seeded
    ratings_table(
        services,
        RATINGS_TABLE,
        rated("seed-P1", ids["P1"], 5),
        rated("seed-P2", ids["P2"], 2),
        rated("seed-P4", None, 4),  # no case named: its conversation's first case (P4, late delivery)
        rated("seed-P5", "P-GONE42", 1),  # a case not in these figures: left out
    )
    f = analytics.figures(services, Filters(), SUPERVISOR)
    assert f.ratings_available is True
    # damaged_item: 5 and 2 -> 3.50; late_delivery: 4.
    assert rows(f, "ratings") == [("damaged_item", 2, D("3.50")), ("late_delivery", 1, D("4.00"))]
    # The filters apply: from 9 Nov only P4's rating is in range.
    assert rows(analytics.figures(services, Filters.parse("2026-11-09"), SUPERVISOR), "ratings") == [
        ("late_delivery", 1, D("4.00"))
    ]


def test_no_ratings_table_no_ratings_figures(seeded):
    services, _ids = seeded
    ratings_table(services, None)
    f = analytics.figures(services, Filters(), SUPERVISOR)
    assert f.ratings_available is False
    assert "ratings" not in f.tables
    assert "Chats are not rated yet: ratings by situation appear here once they are." in f.notes


def test_an_empty_ratings_table_says_nothing_is_rated_yet(seeded):
    services, _ids = seeded
    ratings_table(services, RATINGS_TABLE)
    f = analytics.figures(services, Filters(), SUPERVISOR)
    assert f.ratings_available is True
    assert rows(f, "ratings") == []
    assert "No chat of these cases has been rated yet." in f.notes


def test_a_ratings_table_of_another_shape_is_left_alone(seeded):
    services, _ids = seeded
    ratings_table(services, "CREATE TABLE ratings (id INTEGER PRIMARY KEY, chat TEXT, thumbs TEXT)")
    f = analytics.figures(services, Filters(), SUPERVISOR)
    assert f.ratings_available is False
    assert "ratings" not in f.tables


def test_reading_writes_nothing(seeded):
    services, _ids = seeded
    before = services.ledger.head()
    analytics.figures(services, Filters(), SUPERVISOR)
    assert services.ledger.head() == before


def test_the_json_names_every_column_and_keeps_money_as_text(seeded):
    services, _ids = seeded
    data = analytics.figures(services, Filters(), SUPERVISOR).as_json()
    assert data["cases"] == 6
    assert data["tables"]["cost"]["columns"] == ["situation", "tier", "grants", "cost"]
    assert data["tables"]["cost"]["rows"][2] == {
        "situation": "late_delivery",
        "tier": "self_service",
        "grants": 1,
        "cost": "7.20",
    }


def test_a_read_cut_short_says_so_only_when_cases_in_range_were_left_unread(seeded):
    services, ids = seeded
    cases, truncated = analytics.read_cases(services.ledger, Filters(), limit=4)
    assert [p.public_id for p in cases] == [ids["P3"], ids["P4"], ids["P5"], ids["P6"]]  # the newest 4, oldest first
    assert truncated is True
    # From 4 Nov on: the oldest case read (P3) is from 3 Nov, so nothing unread can be in range.
    cases, truncated = analytics.read_cases(services.ledger, Filters.parse("2026-11-04"), limit=4)
    assert [p.public_id for p in cases] == [ids["P4"], ids["P5"], ids["P6"]]
    assert truncated is False
    # From 3 Nov on: another case of 3 Nov could be among the unread, so it says so.
    assert analytics.read_cases(services.ledger, Filters.parse("2026-11-03"), limit=4)[1] is True
