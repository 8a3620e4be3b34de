"""The analytics page, its JSON and CSV, and the admins' policy what-if.

    GET  /analytics        charts, each with its table; filters from, to, situation (and agent)
    GET  /api/analytics    the same figures as JSON; ?format=csv&table=NAME for one table as CSV
    GET  /what-if          admins: pick a catalog directory or upload catalog files
    POST /what-if          admins: replay the ledger under it (writes nothing)

Thin: the figures and the replay are `makegood.services.analytics` / `what_if`; this module reads
the request, checks the role on the server, and turns tables into charts, pages and CSV.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sanic.response import HTTPResponse, json

from makegood.desk.charts import MAX_BARS, bar_chart, data_uri
from makegood.desk.context import blocking, desk_of
from makegood.desk.present import humanize
from makegood.errors import CaseError, MakegoodError, PolicyError, shown
from makegood.services import analytics, what_if
from makegood.services.analytics import AnalyticsForbidden, Filters, Table, Viewer

WHAT_IF_ROLES = ("admin",)
MAX_UPLOAD_FILES = 20
UPLOAD_SUFFIXES = (".yml", ".yaml")
SAMPLE = 20


def register(app: Any) -> None:
    app.add_route(page, "/analytics", methods=["GET"])
    app.add_route(api_figures, "/api/analytics", methods=["GET"])
    app.add_route(what_if_form, "/what-if", methods=["GET"])
    app.add_route(what_if_run, "/what-if", methods=["POST"])


# -- figures ----------------------------------------------------------------------------------------
def _filters(request: Any, catalog: Any) -> Filters:
    arg = request.args.get
    return Filters.parse(arg("from"), arg("to"), arg("situation"), arg("agent"), catalog=catalog)


def _viewer(request: Any) -> Viewer:
    principal = request.ctx.principal
    return Viewer(principal.name, principal.role)


async def _figures(request: Any) -> analytics.Figures:
    services = desk_of(request).services()
    filters = _filters(request, services.catalog)
    return await blocking(analytics.figures, services, filters, _viewer(request))


async def api_figures(request: Any) -> HTTPResponse:
    try:
        figures = await _figures(request)
    except AnalyticsForbidden as exc:
        return json({"error": shown(str(exc))}, status=403)
    except CaseError as exc:
        return json({"error": shown(str(exc))}, status=400)
    wanted = (request.args.get("format") or "json").strip().lower()
    if wanted == "json":
        return json(figures.as_json())
    if wanted != "csv":
        return json({"error": f"format must be json or csv, got {wanted[:20]!r}"}, status=400)
    name = (request.args.get("table") or "").strip()
    if name not in figures.tables:
        names = ", ".join(figures.tables)
        return json({"error": f"CSV is one table at a time: give table= one of {names}"}, status=400)
    return HTTPResponse(
        table_csv(figures.tables[name]),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="makegood-{name}.csv"'},
    )


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        # A cell a spreadsheet would run as a formula (=, +, -, @) is quoted as text first.
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and not _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


# -- charts: which columns each table draws ----------------------------------------------------------
Chart = tuple[list[str], list[tuple[str, list[Any]]], bool, str]


def _pivot(
    rows: list[tuple[Any, ...]], label: int, series: int, value: int
) -> tuple[list[str], list[tuple[str, list]]]:
    labels = list(dict.fromkeys(str(r[label]) for r in rows))
    names = list(dict.fromkeys(str(r[series]) for r in rows))
    cells = {(str(r[label]), str(r[series])): r[value] for r in rows}
    zero = Decimal("0.00") if any(isinstance(r[value], Decimal) for r in rows) else 0
    return labels, [(humanize(n), [cells.get((lab, n), zero) for lab in labels]) for n in names]


def _exceptions(t: Table) -> Chart:
    labels, series = _pivot(sorted(t.rows), 0, 1, 2)
    keep = slice(-MAX_BARS, None)  # a long range: the chart shows the latest weeks, the table all of them
    return labels[keep], [(name, values[keep]) for name, values in series], True, ""


def _single(label: Callable[[tuple], str], value: int, name: str, unit: str = "") -> Callable[[Table], Chart]:
    def chart(t: Table) -> Chart:
        return [label(r) for r in t.rows], [(name, [r[value] for r in t.rows])], True, unit

    return chart


def _two(first: int, second: int, names: tuple[str, str], stacked: bool) -> Callable[[Table], Chart]:
    def chart(t: Table) -> Chart:
        labels = [humanize(r[0]) if "_" in str(r[0]) else str(r[0]) for r in t.rows]
        series = [(names[0], [r[first] for r in t.rows]), (names[1], [r[second] for r in t.rows])]
        return labels, series, stacked, ""

    return chart


def _cost(t: Table) -> Chart:
    labels, series = _pivot(t.rows, 0, 1, 3)
    return [humanize(x) for x in labels], series, True, ""


CHARTS: dict[str, tuple[str, Callable[[Table], Chart]]] = {
    "exceptions": ("Cases per week, by situation", _exceptions),
    "asked_vs_given": ("Asked and given ($), by situation", _two(2, 4, ("asked", "given"), stacked=False)),
    "limits": (
        "Asks beyond authority: times each cap was hit",
        _single(lambda r: f"{humanize(r[0])} · {r[1]} · {r[2]}", 4, "times"),
    ),
    "outcomes": ("Cases that needed a person (%)", _single(lambda r: str(r[0]), 2, "percent", "%")),
    "time_to_decision": (
        "Median hours from handoff to decision",
        _single(lambda r: humanize(r[0]), 2, "median hours", " h"),
    ),
    "reviews_by_situation": ("Review verdicts by situation", _two(1, 2, ("upheld", "overturned"), stacked=True)),
    "reviews_by_pair": ("Review verdicts by agent pair", _two(1, 2, ("upheld", "overturned"), stacked=True)),
    "cost": ("Cost of exceptions ($), by situation and tier", _cost),
    "handoff_reasons": ("Why the bot handed over", _single(lambda r: str(r[0])[:60], 1, "handoffs")),
    "ratings": ("Average chat rating, by situation", _single(lambda r: humanize(r[0]), 2, "average")),
}


def chart_for(name: str, table: Table) -> str | None:
    """The table's chart as a data: URI, or None for a table with no rows."""
    if not table.rows or name not in CHARTS:
        return None
    title, build = CHARTS[name]
    labels, series, stacked, unit = build(table)
    return data_uri(bar_chart(title, labels, series, stacked=stacked, unit=unit))


def _sections(figures: analytics.Figures) -> list[dict[str, Any]]:
    return [
        {"name": name, "table": table, "chart": chart_for(name, table), "chart_title": CHARTS[name][0]}
        for name, table in figures.tables.items()
    ]


async def page(request: Any) -> HTTPResponse:
    desk = desk_of(request)
    services = desk.services()
    viewer = _viewer(request)
    args = {k: (request.args.get(k) or "").strip()[:128] for k in ("from", "to", "situation", "agent")}
    try:
        figures = await _figures(request)
    except AnalyticsForbidden as exc:
        return desk.render(request, "error.html", status=403, title="Forbidden", message=str(exc))
    except CaseError as exc:
        return _render_page(request, services, viewer, args, None, [], status=400, error=str(exc))
    sections = await blocking(_sections, figures)
    return _render_page(request, services, viewer, args, figures, sections)


def _render_page(
    request: Any,
    services: Any,
    viewer: Viewer,
    args: dict[str, str],
    figures: Any,
    sections: list,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTTPResponse:
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in args.items() if v})
    return desk_of(request).render(
        request,
        "analytics.html",
        status=status,
        title="Analytics",
        figures=figures,
        sections=sections,
        args=args,
        query=query,
        situations=services.catalog.situation_ids,
        sees_everything=viewer.sees_everything,
        messages=[("error", error)] if error else [],
    )


# -- what-if (admins) --------------------------------------------------------------------------------
def catalog_choices() -> dict[str, Path]:
    """The catalog directories an admin may pick, by name: the packs and the examples shipped with
    the project. Only these names are accepted, never a path from the browser."""
    from makegood.config import get_settings, project_root

    root = project_root()
    choices: dict[str, Path] = {"policy (the running catalog's files)": get_settings().policy_path}
    for parent in (root / "policy-packs", root / "docs" / "examples"):
        if parent.is_dir():
            for directory in sorted(p for p in parent.iterdir() if p.is_dir()):
                choices[f"{parent.name}/{directory.name}"] = directory
    return choices


def _forbidden_what_if(request: Any) -> HTTPResponse | None:
    user = request.ctx.principal.user
    if user.role not in WHAT_IF_ROLES:
        return desk_of(request).render(
            request,
            "error.html",
            status=403,
            title="Forbidden",
            message="The policy what-if is for admins: it replays every recorded case.",
        )
    return None


async def what_if_form(request: Any) -> HTTPResponse:
    return _forbidden_what_if(request) or _what_if_page(request, await blocking(catalog_choices))


def _what_if_page(
    request: Any,
    choices: dict[str, Path],
    *,
    result: Any = None,
    error: str | None = None,
    status: int = 200,
    picked: str = "",
) -> HTTPResponse:
    return desk_of(request).render(
        request,
        "what_if.html",
        status=status,
        title="Policy what-if",
        choices=list(choices),
        picked=picked,
        result=result,
        sample=result.changed[:SAMPLE] if result is not None else [],
        messages=[("error", error)] if error else [],
    )


async def what_if_run(request: Any) -> HTTPResponse:
    refused = _forbidden_what_if(request)
    if refused is not None:
        return refused
    form = request.form or {}
    picked = (form.get("catalog") or "").strip()
    since_text = (form.get("since") or "").strip()[:20]
    files = request.files  # None for a urlencoded form
    uploads = [f for f in (files.getlist("files") or []) if getattr(f, "name", "")] if files else []
    services = desk_of(request).services()
    choices = await blocking(catalog_choices)
    try:
        since = analytics.parse_day(since_text, "since")
        if uploads:
            result = await blocking(_compare_uploaded, services, uploads, since)
            picked = "uploaded files"
        else:
            if picked not in choices:
                raise CaseError("pick a catalog directory, or upload the catalog's .yml files")
            candidate = await blocking(what_if.load_candidate, choices[picked])
            result = await blocking(what_if.compare, services.ledger, services.catalog, candidate, since=since)
    except (PolicyError, CaseError) as exc:
        return _what_if_page(request, choices, error=str(exc), status=400, picked=picked)
    except MakegoodError as exc:  # the ledger could not be read, ...
        return _what_if_page(request, choices, error=str(exc), status=503, picked=picked)
    return _what_if_page(request, choices, result=result, picked=picked)


def _compare_uploaded(services: Any, uploads: list, since: Any) -> what_if.Comparison:
    """Uploaded catalog files are written to a private temporary directory, loaded by the same
    validator as any catalog (size limits included), and removed again."""
    if len(uploads) > MAX_UPLOAD_FILES:
        raise CaseError(f"upload at most {MAX_UPLOAD_FILES} catalog files at once")
    with tempfile.TemporaryDirectory(prefix="makegood-what-if-") as tmp:
        for upload in uploads:
            name = Path(str(upload.name)).name  # never a path: "../x.yml" is "x.yml"
            if not name.endswith(UPLOAD_SUFFIXES) or name.startswith("."):
                raise CaseError(f"{name[:80]!r} is not a catalog file: upload .yml or .yaml files")
            (Path(tmp) / name).write_bytes(upload.body or b"")
        try:
            candidate = what_if.load_candidate(tmp)
        except PolicyError as exc:  # name the files as the admin knows them, not by the temporary path
            raise PolicyError(str(exc).replace(tmp, "upload")) from None
        return what_if.compare(services.ledger, services.catalog, candidate, since=since)
