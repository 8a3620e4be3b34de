"""Policy what-if: replay every recorded case under another catalog and say what would change.

    result = what_if.compare(services.ledger, services.catalog, load_catalog("docs/examples/tighter"))
    result.changed_count, result.cost["in_authority"]["delta"], result.drivers

Each case is replayed as logged: its situation, its facts (company facts as they were then) and
what was asked (the customer's ask, else the option chosen, else nothing: then the first offer).
Both catalogs are replayed the same way, by the same engine, at the tier the ask met first (the
bot's, or the agent's who logged it), so the only difference is the policy. What the customer had
already been given is not replayed (cumulative limits need the history of the day); the
exceptions-per-period caps are, through the `recent_exceptions` fact as logged.

Read only: the ledger's `list`, nothing else; no write, no audit event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from makegood.errors import CaseError
from makegood.ledger.model import Proposal
from makegood.money import cents
from makegood.policy import Case, Catalog, Tier, check, load_catalog, options
from makegood.policy.check import ALLOWED, NEEDS_TIER
from makegood.policy.limits import cost_of
from makegood.services.analytics import Filters, proposer_tier, read_cases

CANNOT_JUDGE = "cannot_judge"
NO_OFFER = "no_offer"
GRANTABLE = (ALLOWED, NEEDS_TIER)
SAMPLE = 10


@dataclass(frozen=True)
class Answer:
    """What the engine answers a case's request under one catalog."""

    status: str  # allowed | needs_tier | outside_policy | needs_facts | no_offer | cannot_judge
    tier: str | None  # the tier that may grant it
    remedy: str | None
    size: str | None  # as text: money "25.00" or whole days
    cost: Decimal  # what granting it costs the company, when someone may grant it; else 0
    rules: tuple[str, ...] = ()
    reason: str = ""

    def same_as(self, other: Answer) -> bool:
        return (self.status, self.tier, self.remedy, self.size) == (other.status, other.tier, other.remedy, other.size)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tier": self.tier,
            "remedy": self.remedy,
            "size": self.size,
            "cost": str(self.cost),
            "rules": list(self.rules),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Change:
    public_id: str
    situation: str
    created_at: str
    asked: dict[str, Any] | None
    kind: str
    driver: str
    before: Answer
    after: Answer

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.public_id,
            "situation": self.situation,
            "created_at": self.created_at,
            "asked": self.asked,
            "kind": self.kind,
            "driver": self.driver,
            "before": self.before.as_json(),
            "after": self.after.as_json(),
        }


@dataclass(frozen=True)
class Comparison:
    baseline: dict[str, str]  # version, source, label
    candidate: dict[str, str]
    since: date | None
    cases: int  # cases replayed
    unjudged: int  # could be judged under neither catalog (e.g. no situation)
    changed: list[Change]
    by_kind: dict[str, int]
    drivers: dict[str, int]
    cost: dict[str, dict[str, Decimal]]  # in_authority / grantable -> before, after, delta
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def changed_count(self) -> int:
        return len(self.changed)

    @property
    def empty(self) -> bool:
        return self.cases == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "since": self.since.isoformat() if self.since else None,
            "cases": self.cases,
            "unjudged": self.unjudged,
            "changed_count": self.changed_count,
            "by_kind": self.by_kind,
            "drivers": self.drivers,
            "cost": {k: {n: str(v) for n, v in c.items()} for k, c in self.cost.items()},
            "truncated": self.truncated,
            "notes": list(self.notes),
            "changed": [c.as_json() for c in self.changed],
        }


def load_candidate(path: str | Path) -> Catalog:
    """The catalog to compare with: the validator's own error (PolicyError) when it is not valid."""
    return load_catalog(path)


def request_of(p: Proposal) -> dict[str, Any] | None:
    """What the case asked the engine: the customer's ask, else the option chosen; None for neither."""
    for candidate in (p.customer_ask, p.option_chosen):
        if isinstance(candidate, Mapping) and candidate.get("remedy"):
            size = candidate.get("size")
            return {"remedy": str(candidate["remedy"]), "size": None if size in (None, "") else str(size)}
    return None


def answer(catalog: Catalog, p: Proposal, tier: Tier) -> Answer:
    """The engine's answer to case `p` under `catalog`, at `tier`."""
    try:
        case = Case.build(catalog, p.situation, p.facts)
        wanted = request_of(p)
        if wanted is None:
            return _first_offer(catalog, case, tier)
        return _verdict(catalog, case, wanted, tier)
    except CaseError as exc:
        return Answer(CANNOT_JUDGE, None, None, None, Decimal("0.00"), (), str(exc))


def _first_offer(catalog: Catalog, case: Case, tier: Tier) -> Answer:
    found = options(catalog, case, tier)
    if not found.offers:
        handoff = found.handoff.tier.value if found.handoff else None
        return Answer(NO_OFFER, handoff, None, None, Decimal("0.00"), tuple(found.rules_cited), "nothing to offer")
    o = found.offers[0]
    return Answer(
        ALLOWED,
        o.required_tier.value,
        o.remedy,
        None if o.size is None else str(o.size),
        o.cost,
        (o.rule, o.cap_rule),
        "the first offer",
    )


def _verdict(catalog: Catalog, case: Case, wanted: Mapping[str, Any], tier: Tier) -> Answer:
    remedy = wanted["remedy"]
    if remedy not in catalog.remedies:
        return Answer(CANNOT_JUDGE, None, remedy, wanted.get("size"), Decimal("0.00"), (), f"no remedy {remedy!r}")
    v = check(catalog, case, remedy, wanted.get("size"), tier)
    size = None if v.size is None else str(v.size)
    cost = Decimal("0.00")
    if v.status in GRANTABLE:
        rule = next((r for r in catalog.situation(case.situation).remedies if r.id == v.rules[0]), None)
        cost = cost_of(catalog, rule, v.size) if rule is not None else Decimal("0.00")
    return Answer(
        v.status,
        v.required_tier.value if v.required_tier else None,
        remedy,
        size,
        cost,
        v.rules,
        v.reason,
    )


def kind_of(before: Answer, after: Answer) -> str:
    if before.status != after.status:
        return f"{before.status} → {after.status}"
    if before.tier != after.tier:
        return "needs another tier"
    return "different amount"


def driver_of(before: Answer, after: Answer) -> str:
    """The rule behind a change: the cap that now stops the proposer, or the one that used to."""
    for a in (after, before):
        if a.status == NEEDS_TIER and len(a.rules) > 1:
            return a.rules[1]
    for a in (after, before):
        if a.rules:
            return a.rules[-1]  # the cap that admits an offer, or the rule or limit that blocks it
    return after.reason or before.reason or "unknown"


def compare(
    ledger: Any,
    baseline: Catalog,
    candidate: Catalog,
    *,
    since: date | None = None,
    situation: str | None = None,
) -> Comparison:
    """Replay the ledger's cases (since `since`) under both catalogs. With none, the comparison is
    empty and its note says so."""
    cases, truncated = read_cases(ledger, Filters(since=since, situation=situation))
    return replay(cases, baseline, candidate, since=since, truncated=truncated)


def replay(
    cases: Sequence[Proposal],
    baseline: Catalog,
    candidate: Catalog,
    *,
    since: date | None = None,
    truncated: bool = False,
) -> Comparison:
    changes: list[Change] = []
    unjudged = 0
    cost = {k: {"before": Decimal("0.00"), "after": Decimal("0.00")} for k in ("in_authority", "grantable")}
    for p in cases:
        tier = proposer_tier(p)
        before, after = answer(baseline, p, tier), answer(candidate, p, tier)
        if before.status == CANNOT_JUDGE and after.status == CANNOT_JUDGE:
            unjudged += 1
            continue
        for label, statuses in (("in_authority", (ALLOWED,)), ("grantable", GRANTABLE)):
            cost[label]["before"] += before.cost if before.status in statuses else Decimal(0)
            cost[label]["after"] += after.cost if after.status in statuses else Decimal(0)
        if not before.same_as(after):
            changes.append(
                Change(
                    p.public_id,
                    p.situation,
                    p.created_at.isoformat(),
                    request_of(p),
                    kind_of(before, after),
                    driver_of(before, after),
                    before,
                    after,
                )
            )
    for c in cost.values():
        c["before"], c["after"] = cents(c["before"]), cents(c["after"])
        c["delta"] = c["after"] - c["before"]
    notes = []
    if not cases:
        where = f" since {since.isoformat()}" if since else ""
        notes.append(f"The ledger has no recorded cases{where}: there is nothing to replay.")
    versions = {p.policy_version for p in cases}
    others = sorted(versions - {baseline.version})
    if others:
        notes.append(
            f"Some cases were recorded under other policy versions ({', '.join(others)}); "
            f"both sides are replayed, so the baseline is policy {baseline.version}, not the answers given then."
        )
    if truncated:
        notes.append("Only the newest cases in the ledger were replayed: older ones are not in this comparison.")
    return Comparison(
        baseline=_describe(baseline),
        candidate=_describe(candidate),
        since=since,
        cases=len(cases) - unjudged,
        unjudged=unjudged,
        changed=changes,
        by_kind=dict(sorted(Counter(c.kind for c in changes).items())),
        drivers=dict(Counter(c.driver for c in changes).most_common()),
        cost=cost,
        truncated=truncated,
        notes=notes,
    )


def _describe(catalog: Catalog) -> dict[str, str]:
    return {"version": catalog.version, "source": catalog.source, "label": catalog.label}


def summary_text(result: Comparison, sample: int = SAMPLE) -> str:
    """The comparison as a person reads it on a terminal."""
    from makegood.money import fmt

    b, c = result.baseline, result.candidate
    header = f"what-if: {c['source']} (policy {c['version']}) against {b['source']} (policy {b['version']})"
    if result.empty:
        return "\n".join([header, *(f"  {n}" for n in result.notes)])
    lines = [
        header,
        f"  {result.cases} case{'' if result.cases == 1 else 's'} replayed"
        + (f", {result.unjudged} could not be judged under either" if result.unjudged else "")
        + f"; {result.changed_count} answers change",
    ]
    for kind, n in result.by_kind.items():
        lines.append(f"    {n:>5}  {kind}")
    for label, title in (("in_authority", "granted on the spot"), ("grantable", "grantable by someone")):
        k = result.cost[label]
        sign = "+" if k["delta"] > 0 else ("-" if k["delta"] < 0 else "±")
        lines.append(f"  cost {title}: {fmt(k['before'])} → {fmt(k['after'])} ({sign}{fmt(abs(k['delta']))})")
    if result.drivers:
        lines.append("  rules behind the changes:")
        lines += [f"    {n:>5}  {rule}" for rule, n in result.drivers.items()]
    if result.changed:
        lines.append(f"  changed cases (first {min(sample, result.changed_count)} of {result.changed_count}):")
        for ch in result.changed[:sample]:
            lines.append(
                f"    {ch.public_id}  {ch.situation:<16} {_say(ch.before)}  →  {_say(ch.after)}   [{ch.driver}]"
            )
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)


def _say(a: Answer) -> str:
    what = " ".join(x for x in (a.remedy, a.size) if x)
    tier = f" ({a.tier})" if a.tier else ""
    return f"{a.status}{tier}" + (f" {what}" if what else "")
