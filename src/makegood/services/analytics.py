"""What the ledger says about exceptions, as figures a person can act on.

    figures = analytics.figures(services, Filters(since=date(2026, 11, 1)), Viewer("sam", "supervisor"))
    figures.tables["limits"].rows        # where limits pinch: situation, remedy, tier, cap, times, by how much

Every figure is a table (named columns, plain rows: text, whole numbers, Decimal money), so the
desk can draw it, list it and export it as CSV without computing anything itself. Definitions
are written next to each table (`Table.note`) and shown with it, so a number is never a guess.

Read only: the ledger's own `list`; nothing is written. Asks are judged again under the catalog
the figures are computed with (the running one), which the figures name (`policy_version`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import column, select, table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import SQLAlchemyError

from makegood.errors import CaseError, MakegoodError
from makegood.ledger.model import ACCEPTED, APPROVED, BOT, PENDING, REJECTED, Proposal
from makegood.ledger.rules import agreeing_people, same_person
from makegood.money import cents
from makegood.policy import Case, Catalog, Tier, check
from makegood.policy.check import NEEDS_TIER
from makegood.policy.limits import largest_at
from makegood.policy.model import RemedyRule

# Read at most this many cases for one set of figures: beyond it the figures say they are
# truncated (newest cases first) rather than hold an unbounded ledger in memory.
MAX_CASES = 20_000
MAX_RANGE_DAYS = 3660
FULL_VIEW_ROLES = ("supervisor", "reviewer", "admin")
VIEW_ROLES = ("agent", *FULL_VIEW_ROLES)
GRANTED = (ACCEPTED, APPROVED)
WENT_TO_A_PERSON = (PENDING, APPROVED, REJECTED)
HOUR = Decimal(3600)


class AnalyticsForbidden(MakegoodError):
    """This person may not see these figures (the message says whose they may see)."""


@dataclass(frozen=True)
class Viewer:
    name: str
    role: str

    @property
    def sees_everything(self) -> bool:
        return self.role in FULL_VIEW_ROLES


@dataclass(frozen=True)
class Filters:
    since: date | None = None  # inclusive, UTC calendar days
    until: date | None = None  # inclusive
    situation: str | None = None
    agent: str | None = None  # only cases this person requested or decided

    @classmethod
    def parse(
        cls,
        since: str | None = None,
        until: str | None = None,
        situation: str | None = None,
        agent: str | None = None,
        *,
        catalog: Catalog | None = None,
    ) -> Filters:
        """Filters from text (query string, command line); a CaseError naming the bad one."""
        start, end = parse_day(since, "from"), parse_day(until, "to")
        if start and end and start > end:
            raise CaseError(f"the date range is empty: from {start} is after to {end}")
        if start and end and (end - start).days > MAX_RANGE_DAYS:
            raise CaseError(f"the date range is longer than ten years ({start} to {end})")
        wanted = (situation or "").strip() or None
        if wanted and catalog is not None and wanted not in catalog.situations and wanted != "unknown":
            catalog.situation(wanted)  # raises naming the known situations
        who = (agent or "").strip() or None
        if who and len(who) > 128:
            raise CaseError("the agent name is longer than 128 characters")
        return cls(since=start, until=end, situation=wanted, agent=who)

    def as_json(self) -> dict[str, str | None]:
        return {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "situation": self.situation,
            "agent": self.agent,
        }


def parse_day(text: str | None, what: str) -> date | None:
    """A day written YYYY-MM-DD, or None when empty; a CaseError naming `what` otherwise."""
    raw = (text or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CaseError(f"{what} must be a date written YYYY-MM-DD, got {raw[:40]!r}") from None


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "note": self.note,
            "columns": list(self.columns),
            "rows": [dict(zip(self.columns, (_plain(v) for v in row), strict=True)) for row in self.rows],
        }


@dataclass(frozen=True)
class Figures:
    filters: Filters
    scope: str  # "all cases" or "cases alice requested or decided"
    policy_version: str
    cases: int
    truncated: bool
    tables: dict[str, Table]
    ratings_available: bool
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "filters": self.filters.as_json(),
            "scope": self.scope,
            "policy_version": self.policy_version,
            "cases": self.cases,
            "truncated": self.truncated,
            "ratings_available": self.ratings_available,
            "notes": list(self.notes),
            "tables": {name: t.as_json() for name, t in self.tables.items()},
        }


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


# -- reading cases ---------------------------------------------------------------------------------
def read_cases(ledger: Any, filters: Filters, limit: int = MAX_CASES) -> tuple[list[Proposal], bool]:
    """The cases matching `filters`, oldest first, and whether the read stopped at `limit`."""
    found = ledger.list(situation=filters.situation, limit=limit + 1)
    # Cut short only if what was left unread could be in range: the oldest case read is not before it.
    oldest = found[limit - 1].created_at if len(found) > limit else None
    truncated = oldest is not None and (filters.since is None or _day_of(oldest) >= filters.since)
    chosen = [p for p in found[:limit] if _in_range(p.created_at, filters) and _involves(p, filters.agent)]
    chosen.reverse()
    return chosen, truncated


def _day_of(at: datetime) -> date:
    return at.astimezone(timezone.utc).date()


def _in_range(at: datetime, filters: Filters) -> bool:
    day = _day_of(at)
    return (filters.since is None or day >= filters.since) and (filters.until is None or day <= filters.until)


def _involves(p: Proposal, name: str | None) -> bool:
    if not name:
        return True
    return same_person(p.requested_by, name) or any(same_person(d.actor, name) for d in p.decisions)


def scoped(filters: Filters, viewer: Viewer) -> Filters:
    """The filters this viewer may use: an agent sees only their own cases, whatever they ask."""
    if viewer.role not in VIEW_ROLES:
        raise AnalyticsForbidden(f"the analytics are for agents, supervisors, reviewers and admins, not {viewer.role}")
    if viewer.sees_everything:
        return filters
    if filters.agent and not same_person(filters.agent, viewer.name):
        raise AnalyticsForbidden(
            f"{viewer.name} is an agent and sees only their own figures, not {filters.agent}'s; "
            f"a supervisor, reviewer or admin sees everyone's"
        )
    return Filters(filters.since, filters.until, filters.situation, viewer.name)


# -- the figures -----------------------------------------------------------------------------------
def figures(services: Any, filters: Filters, viewer: Viewer) -> Figures:
    filters = scoped(filters, viewer)
    catalog: Catalog = services.catalog
    cases, truncated = read_cases(services.ledger, filters)
    ratings = read_ratings(getattr(services.ledger, "engine", None))
    tables = {
        "exceptions": exceptions_by_week(cases),
        "asked_vs_given": asked_vs_given(cases),
        "limits": limits_pinch(catalog, cases),
        "outcomes": outcomes(cases),
        "time_to_decision": time_to_decision(cases),
        "reviews_by_situation": reviews_by_situation(cases),
        "reviews_by_pair": reviews_by_pair(cases),
        "cost": cost_by_situation_and_tier(catalog, cases),
        "handoff_reasons": handoff_reasons(cases),
    }
    notes = []
    if ratings is not None:
        tables["ratings"] = ratings_by_situation(cases, ratings)
        if not tables["ratings"].rows:
            notes.append("No chat of these cases has been rated yet.")
    else:
        notes.append("Chats are not rated yet: ratings by situation appear here once they are.")
    if truncated:
        notes.append(f"Only the newest {MAX_CASES} cases in the ledger were read: older ones are not in these figures.")
    scope = "all cases" if not filters.agent else f"cases {filters.agent} requested or decided"
    return Figures(filters, scope, catalog.version, len(cases), truncated, tables, ratings is not None, notes)


def week_of(at: datetime) -> str:
    """The Monday of the (UTC) week, as YYYY-MM-DD: weeks sort and read as dates."""
    day = at.astimezone(timezone.utc).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def exceptions_by_week(cases: Sequence[Proposal]) -> Table:
    counts = Counter((week_of(p.created_at), p.situation) for p in cases)
    return Table(
        "Exceptions by week and situation",
        ("week", "situation", "cases"),
        [(w, s, n) for (w, s), n in sorted(counts.items())],
        "Every case logged in the ledger, by the Monday of its (UTC) week.",
    )


def weekly_totals(table: Table) -> list[tuple[str, int]]:
    """Cases per week, from the exceptions table (what its chart shows)."""
    totals: Counter[str] = Counter()
    for week, _situation, n in table.rows:
        totals[week] += n
    return sorted(totals.items())


def _money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return cents(amount) if amount.is_finite() and amount >= 0 else None


def money_ask(p: Proposal) -> tuple[str, Decimal] | None:
    """(remedy, amount) when the customer asked for a sum of money."""
    ask = p.customer_ask if isinstance(p.customer_ask, Mapping) else None
    if not ask or not ask.get("remedy"):
        return None
    amount = _money(ask.get("size"))
    return None if amount is None else (str(ask["remedy"]), amount)


def _chosen(p: Proposal) -> Mapping[str, Any]:
    return p.option_chosen if isinstance(p.option_chosen, Mapping) else {}


def asked_vs_given(cases: Sequence[Proposal]) -> Table:
    rows: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal("0.00"), 0, Decimal("0.00")])
    for p in cases:
        ask = money_ask(p)
        if ask is None:
            continue
        row = rows[p.situation]
        row[0] += 1
        row[1] += ask[1]
        if p.status in GRANTED:
            row[2] += 1
            row[3] += _money(_chosen(p).get("size")) or Decimal("0.00")
    return Table(
        "What was asked, what was given",
        ("situation", "asks", "asked", "granted", "given"),
        [(s, *r) for s, r in sorted(rows.items())],
        "Cases where the customer asked for a sum: the sums asked, how many were granted "
        "(accepted or approved), and the sums given on those.",
    )


def proposer_tier(p: Proposal) -> Tier:
    """Whose authority the ask met first: the bot's, or the agent's who logged it."""
    return Tier.SELF_SERVICE if same_person(p.requested_by, BOT) else Tier.AGENT


def _case(catalog: Catalog, p: Proposal) -> Case | None:
    try:
        return Case.build(catalog, p.situation, p.facts)
    except CaseError:
        return None  # a situation or fact this catalog no longer has: not judged


def _rule(catalog: Catalog, rule_id: str) -> RemedyRule | None:
    situation = catalog.situations.get(rule_id.split(".", 1)[0])
    if situation is None:
        return None
    return next((r for r in situation.remedies if r.id == rule_id), None)


def limits_pinch(catalog: Catalog, cases: Sequence[Proposal]) -> Table:
    found: dict[tuple[str, str, str, str], list[Any]] = {}
    for p in cases:
        ask = money_ask(p)
        if ask is None or ask[0] not in catalog.remedies:
            continue
        case = _case(catalog, p)
        if case is None:
            continue
        tier = proposer_tier(p)
        try:
            verdict = check(catalog, case, ask[0], ask[1], tier)
        except CaseError:
            continue
        if verdict.status != NEEDS_TIER:
            continue
        rule = _rule(catalog, verdict.rules[0])
        kind = catalog.remedies[ask[0]].kind
        most = largest_at(catalog, rule, tier, case.facts, kind) if rule is not None else None
        over = ask[1] - Decimal(most) if most is not None and ask[1] > Decimal(most) else Decimal("0.00")
        key = (p.situation, ask[0], tier.value, verdict.rules[1])
        row = found.setdefault(key, [0, Decimal("0.00"), Decimal("0.00")])
        row[0] += 1
        row[1] += over
        row[2] = max(row[2], over)
    return Table(
        "Where limits pinch: asks beyond authority",
        ("situation", "remedy", "tier", "cap", "times", "total_over", "most_over"),
        [(*k, *v) for k, v in sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0]))],
        "Asks the bot (self_service) or the agent who logged them could not grant, judged again under "
        f"policy {catalog.version}: the cap that stopped them, how often, and by how much the asks went "
        "over the most that tier may give.",
    )


def _percent(n: int, of: int) -> Decimal:
    return (Decimal(100 * n) / of).quantize(Decimal("0.1")) if of else Decimal("0.0")


def outcomes(cases: Sequence[Proposal]) -> Table:
    to_person = [p for p in cases if p.status in WENT_TO_A_PERSON]
    n = len(to_person)
    counts = [
        ("approved", sum(1 for p in to_person if p.status == APPROVED)),
        ("co-signed", sum(1 for p in to_person if any(d.decision == "cosign" for d in p.decisions))),
        ("rejected", sum(1 for p in to_person if p.status == REJECTED)),
        ("escalated", sum(1 for p in to_person if any(d.decision == "escalate" for d in p.decisions))),
        ("still open", sum(1 for p in to_person if p.status == PENDING)),
    ]
    return Table(
        "Decisions on cases that needed a person",
        ("outcome", "cases", "percent"),
        [(name, k, _percent(k, n)) for name, k in counts],
        f"Of the {n} cases that went to a person (pending, approved or rejected): approved and rejected are "
        "final statuses; co-signed and escalated count cases with at least one such decision.",
    )


def _hours(seconds: float | Decimal) -> Decimal:
    return (Decimal(str(seconds)) / HOUR).quantize(Decimal("0.1"))


def time_to_decision(cases: Sequence[Proposal]) -> Table:
    waits: dict[str, list[float]] = defaultdict(list)
    for p in cases:
        if p.status in (APPROVED, REJECTED) and p.decisions:
            waits[p.situation].append((p.decisions[-1].created_at - p.created_at).total_seconds())
    return Table(
        "Time from handoff to decision",
        ("situation", "decided", "median_hours", "mean_hours"),
        [(s, len(w), _hours(statistics.median(w)), _hours(statistics.fmean(w))) for s, w in sorted(waits.items())],
        "Approved or rejected cases: hours from the moment the case was logged for a person to its final decision.",
    )


def _verdicts(rows: Iterable[tuple[str, str]]) -> list[tuple[str, int, int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, verdict in rows:
        counts[key][0 if verdict == "upheld" else 1] += 1
    return [(k, up, over) for k, (up, over) in sorted(counts.items())]


def reviews_by_situation(cases: Sequence[Proposal]) -> Table:
    return Table(
        "Review verdicts by situation",
        ("situation", "upheld", "overturned"),
        _verdicts((p.situation, r.verdict) for p in cases for r in p.reviews),
        "Post-hoc reviews of peer-approved cases.",
    )


def agent_pair(p: Proposal) -> str:
    return " + ".join(sorted(agreeing_people(p), key=str.casefold)) or "—"


def reviews_by_pair(cases: Sequence[Proposal]) -> Table:
    return Table(
        "Review verdicts by agent pair",
        ("pair", "upheld", "overturned"),
        _verdicts((agent_pair(p), r.verdict) for p in cases for r in p.reviews),
        "The two agents who agreed to a peer approval (the requester counts when an agent asked).",
    )


def grant_cost(catalog: Catalog, p: Proposal) -> Decimal | None:
    """What the remedy given on this case costs, by this catalog's cost factors; None if nothing priced."""
    chosen = _chosen(p)
    remedy = chosen.get("remedy")
    if not remedy or remedy not in catalog.remedies:
        return None
    spec = catalog.remedies[remedy]
    if spec.kind in ("item", "none"):
        return cents(spec.cost_factor)
    if spec.kind == "plan":  # a plan's risk is on the balance, not on the weekly payment
        size = _money(p.facts.get("debt_amount"))
    else:
        size = _money(chosen.get("size"))
    return None if size is None else cents(size * spec.cost_factor)


def cost_by_situation_and_tier(catalog: Catalog, cases: Sequence[Proposal]) -> Table:
    rows: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal("0.00")])
    for p in cases:
        if p.status not in GRANTED:
            continue
        cost = grant_cost(catalog, p)
        if cost is None:
            continue
        row = rows[(p.situation, p.tier_required)]
        row[0] += 1
        row[1] += cost
    ordered = sorted(rows.items(), key=lambda kv: (kv[0][0], Tier(kv[0][1]).rank))
    return Table(
        "Cost of exceptions by situation and tier",
        ("situation", "tier", "grants", "cost"),
        [(s, t, n, c) for (s, t), (n, c) in ordered],
        f"Remedies given (accepted or approved), priced with the cost factors of policy {catalog.version}: "
        "size × cost factor (a remedy with no size costs its factor once; a plan, its balance × factor).",
    )


def cost_by_situation(table: Table) -> list[tuple[str, Decimal]]:
    """The cost table summed per situation (what its chart shows)."""
    totals: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for situation, _tier, _n, cost in table.rows:
        totals[situation] += cost
    return sorted(totals.items())


def handoff_reasons(cases: Sequence[Proposal]) -> Table:
    counts = Counter(
        str(p.context.get("reason")).strip()
        for p in cases
        if same_person(p.requested_by, BOT)
        and p.status in WENT_TO_A_PERSON
        and str(p.context.get("reason") or "").strip()
    )
    return Table(
        "Why the bot handed cases to a person",
        ("reason", "handoffs"),
        sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
        "The reason recorded with each bot handoff.",
    )


# -- ratings (the live-takeover work's table; read defensively, whatever its exact shape) ------------
RATING_COLUMNS = ("stars", "rating", "score")


@dataclass(frozen=True)
class Rating:
    conversation_id: str
    proposal_id: str | None  # the case rated, when the table says
    value: Decimal


def read_ratings(engine: Any) -> list[Rating] | None:
    """Every rating, or None while there is no `ratings` table we can read (it needs a
    conversation_id column and one of stars/rating/score; proposal_id is used when there)."""
    if engine is None:  # a ledger fake without a database
        return None
    try:
        inspector = sa_inspect(engine)
        if not inspector.has_table("ratings"):
            return None
        columns = {c["name"] for c in inspector.get_columns("ratings")}
    except SQLAlchemyError:
        return None
    value = next((c for c in RATING_COLUMNS if c in columns), None)
    if "conversation_id" not in columns or value is None:
        return None
    names = ["conversation_id", value] + (["proposal_id"] if "proposal_id" in columns else [])
    ratings_table = table("ratings", *(column(n) for n in names))
    found: list[Rating] = []
    try:
        with engine.connect() as connection:
            for row in connection.execute(select(*(ratings_table.c[n] for n in names))):
                amount = _number(row[1])
                if row[0] is not None and amount is not None:
                    proposal = str(row[2]) if len(row) > 2 and row[2] else None
                    found.append(Rating(str(row[0]), proposal, amount))
    except SQLAlchemyError:
        return None
    return found


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def ratings_by_situation(cases: Sequence[Proposal], ratings: Sequence[Rating]) -> Table:
    """Each rating under the situation of the case it rates (its proposal_id), else of its
    conversation's first case; ratings of cases outside these figures are left out."""
    by_id = {p.public_id: p for p in cases}
    first: dict[str, Proposal] = {}
    for p in cases:
        first.setdefault(p.conversation_id, p)
    by_situation: dict[str, list[Decimal]] = defaultdict(list)
    for r in ratings:
        case = by_id.get(r.proposal_id) if r.proposal_id else first.get(r.conversation_id)
        if case is not None:
            by_situation[case.situation].append(r.value)
    return Table(
        "Chat ratings by situation",
        ("situation", "ratings", "average"),
        [(s, len(v), _mean(v)) for s, v in sorted(by_situation.items())],
        "Ratings customers gave their chats (1 to 5), under the situation of the case rated.",
    )


def _mean(values: Sequence[Decimal]) -> Decimal:
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"))
