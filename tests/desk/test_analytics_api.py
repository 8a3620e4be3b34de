"""GET /api/analytics, the analytics page and the admins' what-if, against a real desk whose ledger
holds the hand-counted seed (tests/support/seeded_ledger.py; the figures are worked out in
tests/unit/test_analytics.py and test_what_if.py)."""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path

import pytest

from makegood.desk.analytics import table_csv
from makegood.services.analytics import Table
from tests.support.seeded_ledger import seed

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TABLES = [
    "exceptions",
    "asked_vs_given",
    "limits",
    "outcomes",
    "time_to_decision",
    "reviews_by_situation",
    "reviews_by_pair",
    "cost",
    "handoff_reasons",
]
BOT_CAP = "self_service: {max_amount: 25, max_percent: 30}"


@pytest.fixture(scope="module")
def ids(world):
    return seed(world.ledger, world.services.catalog.version)


def bearer(world, name):
    return {"Authorization": f"Bearer {world.token(name)}"}


# -- who may see what -----------------------------------------------------------------------------------
def test_no_sign_in_is_401_for_the_api_and_a_redirect_for_the_page(world, ids):
    response = world.client().get("/api/analytics")
    assert response.status == 401
    assert "sign in first" in response.json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    page = world.client().get("/analytics")
    assert page.status == 303
    assert page.location == "/login?next=/analytics"


def test_a_wrong_token_is_401(world, ids):
    response = world.client().get("/api/analytics", headers={"Authorization": "Bearer not-a-token"})
    assert response.status == 401


def test_a_supervisor_gets_every_figure(world, ids):
    response = world.client().get("/api/analytics", headers=bearer(world, "sam"))
    assert response.status == 200
    data = response.json()
    assert data["cases"] == 6
    assert data["scope"] == "all cases"
    # Ratings come after the rest once the ratings table exists (nobody has rated these chats).
    assert list(data["tables"]) == TABLES + (["ratings"] if data["ratings_available"] else [])
    assert data["tables"].get("ratings", {"rows": []})["rows"] == []
    assert data["tables"]["limits"]["rows"][0] == {
        "situation": "damaged_item",
        "remedy": "partial_refund",
        "tier": "self_service",
        "cap": "damaged_item.partial_refund.caps.self_service.max_amount",
        "times": 2,
        "total_over": "50.00",
        "most_over": "35.00",
    }
    assert data["tables"]["outcomes"]["rows"][0] == {"outcome": "approved", "cases": 2, "percent": "66.7"}
    assert data["filters"] == {"from": None, "to": None, "situation": None, "agent": None}


@pytest.mark.parametrize("name", ["rita", "ada"])
def test_reviewers_and_admins_see_everything_too(world, ids, name):
    response = world.client().get("/api/analytics", headers=bearer(world, name))
    assert response.status == 200
    assert response.json()["cases"] == 6


def test_an_agent_sees_their_own_figures_and_nobody_elses(world, ids):
    own = world.client().get("/api/analytics", headers=bearer(world, "alice"))
    assert own.status == 200
    assert own.json()["cases"] == 3
    assert own.json()["scope"] == "cases alice requested or decided"
    other = world.client().get("/api/analytics?agent=bob", headers=bearer(world, "alice"))
    assert other.status == 403
    assert "sees only their own figures, not bob's" in other.json()["error"]
    page = world.signed_in("alice").get("/analytics?agent=bob")
    assert page.status == 403


def test_a_supervisor_may_look_at_one_agent(world, ids):
    response = world.client().get("/api/analytics?agent=bob", headers=bearer(world, "sam"))
    assert response.json()["cases"] == 2  # bob co-signed P2 and P5


def test_the_session_works_for_the_api_with_get_and_no_csrf_header(world, ids):
    sam = world.signed_in("sam")
    response = sam.get("/api/analytics?situation=late_delivery")
    assert response.status == 200
    assert response.json()["cases"] == 2


# -- filters and bad input ------------------------------------------------------------------------------
def test_filters(world, ids):
    response = world.client().get("/api/analytics?from=2026-11-09&to=2026-11-15", headers=bearer(world, "sam"))
    data = response.json()
    assert data["cases"] == 3
    assert data["filters"]["from"] == "2026-11-09"
    assert [r["week"] for r in data["tables"]["exceptions"]["rows"]] == ["2026-11-09", "2026-11-09"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=yesterday", "from must be a date written YYYY-MM-DD, got 'yesterday'"),
        ("from=2026-11-10&to=2026-11-01", "the date range is empty"),
        ("situation=haunted_parcel", "unknown situation 'haunted_parcel'"),
        ("format=xml", "format must be json or csv"),
        ("format=csv", "CSV is one table at a time: give table= one of exceptions, asked_vs_given"),
        ("format=csv&table=secrets", "CSV is one table at a time"),
    ],
)
def test_bad_input_is_a_400_naming_it(world, ids, query, message):
    response = world.client().get(f"/api/analytics?{query}", headers=bearer(world, "sam"))
    assert response.status == 400
    assert message in response.json()["error"]


# -- CSV --------------------------------------------------------------------------------------------------
def test_one_table_as_csv(world, ids):
    response = world.client().get("/api/analytics?format=csv&table=cost", headers=bearer(world, "sam"))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="makegood-cost.csv"' in response.headers["Content-Disposition"]
    assert response.text.splitlines() == [
        "situation,tier,grants,cost",
        "damaged_item,self_service,1,20.00",
        "damaged_item,peer,1,60.00",
        "late_delivery,self_service,1,7.20",
        "late_delivery,peer,1,36.00",
    ]


def test_csv_filters_apply_and_an_agent_gets_their_own_rows(world, ids):
    response = world.client().get("/api/analytics?format=csv&table=cost", headers=bearer(world, "alice"))
    assert response.text.splitlines() == [
        "situation,tier,grants,cost",
        "damaged_item,peer,1,60.00",
        "late_delivery,peer,1,36.00",
    ]


def test_a_csv_cell_a_spreadsheet_would_run_is_written_as_text():
    table = Table("t", ("reason", "n", "delta"), [('=HYPERLINK("x")', 1, "-30.00"), ("@sum", 2, "-x")])
    assert table_csv(table).splitlines() == ["reason,n,delta", '"\'=HYPERLINK(""x"")",1,-30.00', "'@sum,2,'-x"]


# -- the OpenAPI document -------------------------------------------------------------------------------
def test_the_openapi_document_describes_it(world, ids):
    doc = world.client().get("/api/openapi.json", headers=bearer(world, "alice")).json()
    get = doc["paths"]["/api/analytics"]["get"]
    assert {"200", "400", "401", "403"} <= set(get["responses"])
    assert {p["name"] for p in get["parameters"]} == {"from", "to", "situation", "agent", "format", "table"}
    assert "AnalyticsFigures" in doc["components"]["schemas"]


# -- the page -----------------------------------------------------------------------------------------------
def svg_of(page: str, name: str) -> str:
    found = re.search(rf'<img class="chart" src="data:image/svg\+xml;base64,([^"]+)"[^>]*data-chart="{name}"', page)
    assert found, f"no chart {name}"
    return base64.b64decode(found.group(1)).decode("utf-8")


def test_the_page_draws_each_table_and_lists_it(world, ids):
    page = world.signed_in("sam").get("/analytics")
    assert page.status == 200
    for name in TABLES:
        assert f'data-table="{name}"' in page.text
    assert 'data-testid="case-count">6<' in page.text
    svg = svg_of(page.text, "limits")
    assert "Damaged item · partial_refund · self_service" in svg
    assert "Chats are not rated yet" in page.text or "No chat of these cases has been rated yet" in page.text
    # The page's CSP forbids inline script; the charts are images, so it needs none.
    assert "<script" not in page.text


def test_the_page_says_an_agent_sees_their_own(world, ids):
    page = world.signed_in("alice").get("/analytics")
    assert page.status == 200
    assert "You see the cases you requested or decided" in page.text
    assert 'data-testid="case-count">3<' in page.text
    assert 'name="agent"' not in page.text  # no agent filter for an agent


def test_the_page_with_a_bad_filter_says_what_is_wrong(world, ids):
    page = world.signed_in("sam").get("/analytics?from=13/11/2026")
    assert page.status == 400
    assert "from must be a date written YYYY-MM-DD" in page.text


def test_the_nav_links_analytics_for_everyone_and_what_if_for_admins(world, ids):
    assert 'href="/analytics"' in world.signed_in("alice").get("/queue").text
    assert 'href="/what-if"' not in world.signed_in("sam").get("/queue").text
    assert 'href="/what-if"' in world.signed_in("ada").get("/queue").text


# -- what-if in the desk (admins) ---------------------------------------------------------------------------
def multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for filename, body in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
            "Content-Type: application/x-yaml\r\n\r\n"
        )
        parts.append(head.encode() + body + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(client, files, **fields):
    body, content_type = multipart({"csrf_token": client.csrf or "", **fields}, files)
    return client.request("POST", "/what-if", body=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize("name", ["alice", "sam", "rita"])
def test_what_if_is_for_admins_only(world, ids, name):
    client = world.signed_in(name)
    assert client.get("/what-if").status == 403
    assert client.post_form("/what-if", {"catalog": "examples/what-if-tighter-damage"}).status == 403


def test_an_admin_picks_a_catalog_directory(world, ids):
    ada = world.signed_in("ada")
    form = ada.get("/what-if")
    assert form.status == 200
    assert 'value="examples/what-if-tighter-damage"' in form.text
    assert 'value="policy-packs/airline"' in form.text
    head = world.ledger.head()
    result = ada.post_form("/what-if", {"catalog": "examples/what-if-tighter-damage"})
    assert result.status == 200
    assert 'data-testid="changed-count">2<' in result.text
    assert f'data-proposal="{ids["P1"]}"' in result.text
    assert f'data-proposal="{ids["P6"]}"' in result.text
    assert "damaged_item.partial_refund.caps.self_service.max_amount" in result.text
    assert "−$30" in result.text  # granted on the spot: $52.20 -> $22.20
    assert world.ledger.head() == head  # nothing written


def test_a_path_from_the_browser_is_never_opened(world, ids):
    response = world.signed_in("ada").post_form("/what-if", {"catalog": "../../etc"})
    assert response.status == 400
    assert "pick a catalog directory, or upload the catalog" in response.text


def test_what_if_needs_the_csrf_token(world, ids):
    response = world.signed_in("ada").post_form("/what-if", {"catalog": "examples/what-if-tighter-damage"}, csrf=False)
    assert response.status == 403


def test_an_admin_uploads_catalog_files(world, ids):
    source = (ROOT / "policy" / "catalog.yml").read_text(encoding="utf-8")
    tighter = source.replace(BOT_CAP, "self_service: {max_amount: 15, max_percent: 30}").encode()
    response = upload(world.signed_in("ada"), [("catalog.yml", tighter)])
    assert response.status == 200
    assert 'data-testid="changed-count">2<' in response.text


def test_an_uploaded_invalid_catalog_gets_the_validators_error(world, ids):
    source = (ROOT / "policy" / "catalog.yml").read_text(encoding="utf-8")
    broken = source.replace(BOT_CAP, "self_service: {max_amount: 100, max_percent: 30}").encode()
    response = upload(world.signed_in("ada"), [("catalog.yml", broken)])
    assert response.status == 400
    assert (
        "upload/catalog.yml: situations.damaged_item.remedies[1].caps: max_amount: agent (75) is below "
        "self_service (100)" in response.text
    )
    assert "makegood-what-if-" not in response.text  # the temporary path is not shown


def test_an_upload_that_is_not_a_catalog_file(world, ids):
    response = upload(world.signed_in("ada"), [("notes.txt", b"hello")])
    assert response.status == 400
    assert "&#39;notes.txt&#39; is not a catalog file" in response.text
