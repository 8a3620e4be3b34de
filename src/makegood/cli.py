"""The `makegood` command. Every command takes --json. Bad input: one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

from makegood.errors import MakegoodError
from makegood.jsonable import dumps, to_jsonable
from makegood.money import fmt

EXIT_USER_ERROR = 2


# -- shared plumbing ----------------------------------------------------------------------------
def _policy_path(explicit: str | None) -> str:
    if explicit:
        return explicit
    from makegood.config import get_settings

    return str(get_settings().policy_path)


def _catalog(args: argparse.Namespace):
    from makegood.policy import load_catalog

    return load_catalog(_policy_path(args.policy))


def _facts(pairs: Sequence[str]) -> dict[str, str]:
    facts = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise MakegoodError(f"--fact expects NAME=VALUE, got {pair!r}")
        facts[name.strip()] = value.strip()
    return facts


def _case(args: argparse.Namespace):
    from makegood.policy import Case

    catalog = _catalog(args)
    return catalog, Case.build(catalog, args.situation, _facts(args.fact))


# A number as a person types it: digits, an optional decimal point, optional thousands commas and a
# leading "$" for money. No sign, no exponent, no "nan"/"inf", no underscores: "-1", "1e309" and
# "1_000" are typos or probes, and each gets one clear line instead of a surprising answer.
_NUMBER = re.compile(r"^\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
MAX_NUMBER_CHARS = 32
MAX_LIST = 1000  # --limit and -n: more than a screen is an export, not a listing


def _positive(text: object, flag: str, *, money: bool = True, most: Decimal | None = None) -> str:
    """`text` when it is a positive number (money: at least $0.01, at most money.ABSURD_AMOUNT);
    a MakegoodError naming the flag otherwise. Returns the text unchanged for the engine to parse."""
    from makegood.money import ABSURD_AMOUNT

    raw = str(text if text is not None else "").strip()
    what = "a positive amount of money" if money else "a positive number"
    if len(raw) > MAX_NUMBER_CHARS or not _NUMBER.match(raw):
        raise MakegoodError(f"{flag} expects {what} (like 25 or 25.50), got {str(text)[:MAX_NUMBER_CHARS]!r}")
    try:
        number = Decimal(raw.lstrip("$").replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal text
        raise MakegoodError(f"{flag} expects {what}, got {raw!r}") from None
    least = Decimal("0.01") if money else Decimal(0)
    if number < least or (not money and number == 0):
        raise MakegoodError(f"{flag} must be more than zero{' (at least 0.01)' if money else ''}, got {raw!r}")
    limit = most if most is not None else ABSURD_AMOUNT
    if number > limit:
        raise MakegoodError(f"{flag} of {raw} is beyond any case Makegood handles (at most {limit})")
    return raw


def _count(most: int = MAX_LIST) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to `most`."""

    def parse(text: str) -> int:
        raw = str(text).strip()
        if not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= most:
            raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {most}, got {text!r}")
        return int(raw)

    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _tier(text: str):
    from makegood.policy import Tier

    return Tier.parse(text)


def _size(option) -> str:
    """The option's size as a person writes it; empty for a remedy with no size (the remedy alone)."""
    if option.size is None:
        return ""
    return f"{option.size} days" if option.kind == "days" else fmt(option.size)


def _ledger():
    from makegood.config import get_settings
    from makegood.ledger import Ledger

    return Ledger.from_url(get_settings().database_url)


def _emit(args: argparse.Namespace, result: Any, human: Callable[[Any], str]) -> None:
    print(dumps(result, indent=2, sort_keys=True) if args.json else human(result))


# -- policy ---------------------------------------------------------------------------------------
def cmd_policy_validate(args):
    from makegood.policy import load_catalog

    catalog = load_catalog(_policy_path(args.path or args.policy))
    summary = {
        "ok": True,
        "source": catalog.source,
        "version": catalog.version,
        "situations": len(catalog.situations),
        "rules": sum(len(s.remedies) for s in catalog.situations.values()),
    }
    _emit(
        args,
        summary,
        lambda s: (
            f"ok: {s['source']} is valid — policy {s['version']}, "
            f"{s['situations']} situations, {s['rules']} remedy rules"
        ),
    )


def cmd_policy_show(args):
    catalog = _catalog(args)
    if args.json:
        print(
            dumps(
                {
                    "version": catalog.version,
                    "label": catalog.label,
                    "situations": catalog.situations,
                    "remedies": catalog.remedies,
                    "facts": catalog.facts,
                },
                indent=2,
            )
        )
        return
    lines = [f"{catalog.label} — policy {catalog.version} ({catalog.source})", ""]
    for sid, situation in catalog.situations.items():
        lines.append(f"{sid}: {situation.description}")
        for rule in situation.remedies:
            tiers = ", ".join(f"{t}" for t in rule.caps)
            lines.append(f"    {rule.id:<40} {tiers}")
    print("\n".join(lines))


def cmd_policy_what_if(args):
    from makegood.services import what_if

    candidate = what_if.load_candidate(args.path)  # an invalid catalog: the validator's own error, exit 2
    since = _since(args.since)
    ledger = _ledger()
    try:
        result = what_if.compare(ledger, _catalog(args), candidate, since=since)
    finally:
        ledger.dispose()
    _emit(args, result.as_json(), lambda _r: what_if.summary_text(result))


def _since(text: str | None):
    from makegood.services.analytics import parse_day

    return parse_day(text, "--since")


# -- engine ---------------------------------------------------------------------------------------
def _option_line(o) -> str:
    reduced = (
        f" (of {fmt(o.reduced_from) if o.kind != 'days' else o.reduced_from})" if o.reduced_from is not None else ""
    )
    return f"  {o.remedy:<24} {_size(o):>12}{reduced}  cost {fmt(o.cost):>9}  tier {o.required_tier}  [{o.cap_rule}]"


def cmd_options(args):
    from makegood.policy import options

    catalog, case = _case(args)
    result = options(catalog, case, _tier(args.tier))

    def human(r) -> str:
        lines = [f"{r.situation} at {r.tier} — policy {r.policy_version}"]
        lines += (
            ["In your authority, best first:"] + [_option_line(o) for o in r.offers]
            if r.offers
            else ["Nothing in your authority."]
        )
        if r.beyond:
            lines += ["Needs more authority:"] + [_option_line(o) for o in r.beyond]
        for b in r.blocked:
            lines.append(f"Outside policy: {b.remedy} — {b.reason} [{b.rule}]")
        if r.missing_facts:
            lines.append(f"Still needed: {', '.join(r.missing_facts)}")
        if r.handoff:
            lines.append(f"Hand off to: {r.handoff.tier} — {r.handoff.reason}")
        if r.ask_what_is_fair:
            lines.append('Ask: "What do you think would be fair?"')
        return "\n".join(lines)

    _emit(args, result, human)


def cmd_check(args):
    from makegood.policy import check

    catalog, case = _case(args)
    amount = None if args.amount is None else _positive(args.amount, "--amount", money=False)
    verdict = check(catalog, case, args.remedy, amount, _tier(args.tier))

    def human(v) -> str:
        size = "" if v.size is None else f" {v.size}"
        lines = [
            f"{v.status}: {v.remedy}{size} — {v.reason}",
            f"  rules: {', '.join(v.rules)}  (policy {v.policy_version})",
        ]
        if v.missing_facts:
            lines.append(f"  still needed: {', '.join(v.missing_facts)}")
        if v.alternatives:
            lines += ["  in your authority instead:"] + ["  " + _option_line(o) for o in v.alternatives]
        if v.handoff and not v.allowed:
            lines.append(f"  hand off to: {v.handoff.tier} — {v.handoff.reason}")
        return "\n".join(lines)

    _emit(args, verdict, human)
    if not verdict.allowed:
        sys.exit(1)  # scripts can branch on it; the output already says what to do instead


def cmd_fair_ask(args):
    from makegood.policy import judge_ask

    amount = None if args.amount is None else _positive(args.amount, "--amount")
    percent = None if args.percent is None else _positive(args.percent, "--percent", money=False, most=Decimal(100))
    catalog, case = _case(args)
    result = judge_ask(catalog, case, _tier(args.tier), amount=amount, percent=percent, remedy=args.remedy)

    def human(r) -> str:
        if r.verdict == "accept":
            return (
                f"accept: {r.remedy} {fmt(r.asked)} is inside {r.accepted.required_tier} authority "
                f"[{r.accepted.cap_rule}]"
            )
        lines = [f"{r.verdict}: {fmt(r.asked)} as {r.remedy} is not in your authority ({r.check.reason})"]
        if r.counter:
            lines.append("  counter-offer:" + _option_line(r.counter)[1:])
        if r.alternatives:
            lines += ["  alternatives:"] + ["  " + _option_line(o) for o in r.alternatives]
        if r.needs_tier:
            lines.append(f"  as asked, a {r.needs_tier} could approve it")
        if r.handoff and r.verdict == "handoff":
            lines.append(f"  hand off to: {r.handoff.tier} — {r.handoff.reason}")
        return "\n".join(lines)

    _emit(args, result, human)


def cmd_plan(args):
    from makegood.policy import plan_for

    debt, weekly = _positive(args.debt, "--debt"), _positive(args.weekly, "--weekly")
    result = plan_for(_catalog(args), debt, weekly, _tier(args.tier))

    def line(p) -> str:
        first = f"{fmt(p.first_payment)} now, then " if p.first_payment else ""
        start = f", starting in {p.start_in_days} days" if p.start_in_days else ""
        return (
            f"  {first}{fmt(p.weekly)} a week for {p.weeks} weeks (last payment {fmt(p.final_payment)}){start}"
            f" — {p.label} [{p.required_tier}]"
        )

    def human(r) -> str:
        if r.status == "accepted":
            return f"accepted: {fmt(r.asked_weekly)} a week works.\n" + line(r.plan)
        lines = [f"counter: {fmt(r.asked_weekly)} a week does not fit — {r.reason}"]
        if r.alternatives:
            lines += ["  plans in your authority:"] + ["  " + line(p) for p in r.alternatives]
        if r.approval:
            lines.append(f"  their own figure works with {r.approval.required_tier} approval:")
            lines.append("  " + line(r.approval))
        if r.handoff:
            lines.append(f"  hand off to: {r.handoff.tier} — {r.handoff.reason}")
        return "\n".join(lines)

    _emit(args, result, human)


# -- ledger ---------------------------------------------------------------------------------------
def _proposal_line(p) -> str:
    chosen = (p.option_chosen or {}).get("remedy", "-")
    return (
        f"{p.public_id:<10} {p.status:<9} {p.situation:<18} tier {p.tier_required:<12} {chosen:<22} {p.conversation_id}"
    )


def cmd_ledger_list(args):
    items = _ledger().list(status=args.status, situation=args.situation, limit=args.limit)
    _emit(args, items, lambda ps: "\n".join(_proposal_line(p) for p in ps) or "no proposals")


def _proposal_detail(p) -> str:
    data = to_jsonable(p)
    lines = [
        _proposal_line(p),
        f"  policy {p.policy_version}, requested by {p.requested_by} on {p.channel}",
        f"  facts: {dumps(data.get('facts'), sort_keys=True)}",
    ]
    if p.option_chosen:
        lines.append(f"  chosen: {dumps(data.get('option_chosen'), sort_keys=True)}")
    for d in getattr(p, "decisions", ()) or ():
        lines.append(f"  {d.created_at:%Y-%m-%d %H:%M} {d.actor} ({d.role}) {d.decision}: {d.note}")
    return "\n".join(lines)


def cmd_ledger_show(args):
    _emit(args, _ledger().get(args.id), _proposal_detail)


# Who is deciding. A name on the command line proves nothing, so a decision is taken either by
# a person, proven by their API token (`makegood users token NAME`) and acting with their
# account's role, or by an automated job in the open: `--system NAME`, recorded in the ledger as
# "system:NAME" (a name no account can have). A system job acts with agent authority and only on
# agent-tier proposals (approve or reject); it may escalate anything (that only raises the bar),
# and it never co-signs: a peer approval needs two people. Reviews are always a person's verdict.
TOKEN_ENV = "MAKEGOOD_TOKEN"
SYSTEM_PREFIX = "system:"
_NO_IDENTITY = (
    f"needs an identity the ledger can trust: --token TOKEN (or ${TOKEN_ENV}) from "
    f"`makegood users token NAME`, or --system NAME for an automated job"
)


def _token(args) -> str | None:
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    token = (token or "").strip()
    return token or None


def _person(ledger, token: str):
    from makegood.accounts import AccountStore

    user = AccountStore(ledger.engine).user_for_token(token)
    if user is None:
        raise MakegoodError("that API token is not valid: unknown, revoked, or its user is inactive or removed")
    return user


def _refuse_as(args) -> None:
    if getattr(args, "legacy_as", None) is not None:
        raise MakegoodError(
            "--as is gone: a name on the command line proves nothing; use --token TOKEN "
            f"(or ${TOKEN_ENV}), or --system NAME for an automated job"
        )


def _decider(args, ledger) -> tuple[str, str]:
    """(actor, role) for `ledger decide`: from the token's account, or system:NAME."""
    from makegood.accounts import ledger_role
    from makegood.accounts.store import check_name

    _refuse_as(args)
    wanted_role = (args.role or "").strip().lower() or None
    if args.system is not None:
        if args.token is not None:
            raise MakegoodError("use either --token or --system, not both")
        name = check_name(args.system)
        if wanted_role not in (None, "agent"):
            raise MakegoodError(f"--system acts with agent authority; --role {wanted_role} is not possible")
        current = ledger.get(args.id)
        if args.decision != "escalate" and current.tier_required != "agent":
            raise MakegoodError(
                f"{current.public_id} needs {_a(current.tier_required)}'s decision: a system job may only approve or "
                f"reject agent-tier proposals (it may escalate any); a person must decide it with --token"
            )
        return SYSTEM_PREFIX + name, "agent"
    token = _token(args)
    if token is None:
        raise MakegoodError(f"ledger decide {_NO_IDENTITY}")
    user = _person(ledger, token)
    role = ledger_role(user.role)
    if role is None:
        raise MakegoodError(f"{user.name} is {_a(user.role)}: only agents and supervisors decide proposals")
    if wanted_role is not None and wanted_role != role:
        raise MakegoodError(f"--role {wanted_role} does not match {user.name}'s role ({role}); leave --role out")
    return user.name, role


def _reviewer(args, ledger) -> str:
    from makegood.accounts import may_review

    _refuse_as(args)
    if args.system is not None:
        raise MakegoodError("a review is a person's verdict: --system cannot review; use --token")
    token = _token(args)
    if token is None:
        raise MakegoodError(
            f"ledger review needs the reviewer's identity: --token TOKEN (or ${TOKEN_ENV}) "
            f"from `makegood users token NAME`"
        )
    user = _person(ledger, token)
    if not may_review(user.role):
        raise MakegoodError(f"{user.name} is {_a(user.role)}: only reviewers, supervisors and admins review decisions")
    return user.name


def _a(word: str) -> str:
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"


def cmd_ledger_decide(args):
    from makegood.services import decisions
    from makegood.services.bootstrap import build_default_services

    # Through the decisions service, as the desk does: an approval passes the grant guard
    # (cumulative limits) and counts in the customer's history in the same transaction.
    services = build_default_services()
    try:
        actor, role = _decider(args, services.ledger)
        proposal = decisions.decide(
            services, args.id, actor=actor, role=role, decision=args.decision, note=args.note or ""
        )
    finally:
        services.ledger.dispose()
    _emit(args, proposal, _proposal_detail)


def _anchor_file(args) -> str | None:
    value = getattr(args, "anchor", None) or getattr(args, "out", None) or os.environ.get(ANCHOR_ENV) or ""
    return value.strip() or None


ANCHOR_ENV = "MAKEGOOD_ANCHOR_FILE"


def _ledger_as_found():
    """(ledger, None) without migrating or creating anything: verify looks at what is there.
    (None, report) when a SQLite database file is not there at all."""
    from makegood.config import get_settings
    from makegood.db import make_engine, sqlite_file
    from makegood.ledger import Ledger, VerifyReport

    url = get_settings().database_url
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        return None, VerifyReport(
            ok=False,
            checked=0,
            head_hash="",
            problems=[f"the database file {path} {what}: was it moved or deleted? (MAKEGOOD_DATABASE_URL names it)"],
        )
    return Ledger(make_engine(url)), None


def _verified(args):
    from dataclasses import replace

    from makegood.ledger.anchor import Anchor, read_anchors

    anchors: list[Anchor] = []
    anchor_problems: list[str] = []
    path = _anchor_file(args)
    if path is not None and (getattr(args, "anchor", None) or Path(path).exists()):
        anchors, anchor_problems = read_anchors(path)
    ledger, report = _ledger_as_found()
    if ledger is not None:
        try:
            report = ledger.verify(anchors)
        finally:
            ledger.dispose()
    if anchor_problems:
        report = replace(report, ok=False, problems=[*report.problems, *anchor_problems])
    return report


def _verify_text(r) -> str:
    if r.ok:
        anchored = f"; matches {r.anchors} anchored head{'s' if r.anchors != 1 else ''}" if r.anchors else ""
        return f"ok: audit chain intact ({r.checked} events{anchored})"
    return "NOT OK: the ledger failed verification:\n" + "\n".join(f"  {p}" for p in r.problems)


def cmd_ledger_verify(args):
    report = _verified(args)
    _emit(args, report, _verify_text)
    if not report.ok:
        sys.exit(1)


def cmd_ledger_anchor(args):
    from makegood.ledger.anchor import append_anchor, make_anchor

    path = _anchor_file(args)
    if path is None:
        raise MakegoodError(f"ledger anchor needs --out FILE (or ${ANCHOR_ENV}): the anchor log to append to")
    report = _verified(args)  # never anchor a chain that does not verify, nor one shorter than the log says
    if not report.ok:
        _emit(args, report, lambda r: "not anchored: " + _verify_text(r))
        sys.exit(1)
    ledger, _ = _ledger_as_found()
    try:
        events, head_hash = ledger.head()
    finally:
        ledger.dispose()
    anchor = make_anchor(events, head_hash)
    append_anchor(path, anchor)
    _emit(
        args,
        {"ok": True, "file": path, **anchor.as_json()},
        lambda r: f"ok: anchored {r['events']} events, head {r['head_hash'][:16]}... at {r['at']} to {r['file']}",
    )


def cmd_ledger_review_sample(args):
    sample = _ledger().review_sample(args.n, seed=args.seed)
    _emit(args, sample, lambda ps: "\n".join(_proposal_line(p) for p in ps) or "nothing to review")


def cmd_ledger_review(args):
    ledger = _ledger()
    try:
        reviewer = _reviewer(args, ledger)
        proposal = ledger.record_review(args.id, reviewer=reviewer, verdict=args.verdict, note=args.note or "")
    finally:
        ledger.dispose()
    _emit(args, proposal, _proposal_detail)


# -- parser ---------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--policy", help="policy catalog file or directory (default: $MAKEGOOD_POLICY_PATH or ./policy)"
    )

    parser = _Parser(prog="makegood", description="Customer-service exceptions, resolved inside authority.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(parent, name: str, func, help: str):
        p = parent.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=func)
        return p

    def case_args(p, tier_default="agent"):
        p.add_argument("--situation", required=True)
        p.add_argument("--tier", default=tier_default, help="self_service, agent, peer, supervisor or manager")
        p.add_argument("--fact", action="append", metavar="NAME=VALUE", help="a fact of the case; repeat for more")

    policy = sub.add_parser("policy", help="validate or show the policy catalog").add_subparsers(
        dest="sub", required=True
    )
    add(policy, "validate", cmd_policy_validate, "validate the catalog").add_argument("path", nargs="?")
    add(policy, "show", cmd_policy_show, "list situations and remedy rules")
    p = add(policy, "what-if", cmd_policy_what_if, "replay every recorded case under another catalog (writes nothing)")
    p.add_argument("path", metavar="NEW_POLICY_DIR", help="the catalog file or directory to compare with --policy")
    p.add_argument("--since", metavar="DATE", help="only cases logged on or after this day (YYYY-MM-DD, UTC)")

    case_args(add(sub, "options", cmd_options, "options within a tier's authority"))
    p = add(sub, "check", cmd_check, "may this tier give this remedy? (exit 1 when not)")
    case_args(p)
    p.add_argument("--remedy", required=True)
    p.add_argument("--amount", help="money, or days for day remedies; default: the remedy's own size")
    p = add(sub, "fair-ask", cmd_fair_ask, 'judge the customer\'s answer to "what would be fair?"')
    case_args(p, "self_service")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--amount")
    group.add_argument("--percent")
    p.add_argument("--remedy", help="what the ask is for (default: the situation's fair-ask remedy)")
    p = add(sub, "plan", cmd_plan, 'a payment plan from "how much can you afford each week?"')
    p.add_argument("--debt", required=True)
    p.add_argument("--weekly", required=True)
    p.add_argument("--tier", default="self_service")

    ledger = sub.add_parser("ledger", help="the proposal ledger").add_subparsers(dest="sub", required=True)
    p = add(ledger, "list", cmd_ledger_list, "recent proposals")
    p.add_argument("--status")
    p.add_argument("--situation")
    p.add_argument("--limit", type=_count(), default=50, help=f"how many (1 to {MAX_LIST}, default 50)")
    add(ledger, "show", cmd_ledger_show, "one proposal with its decisions").add_argument("id")

    def identity_args(p, system_help: str):
        p.add_argument("--token", help=f"your API token (default: ${TOKEN_ENV}); from `makegood users token NAME`")
        p.add_argument("--system", metavar="NAME", help=system_help)
        p.add_argument("--as", dest="legacy_as", help=argparse.SUPPRESS)

    p = add(ledger, "decide", cmd_ledger_decide, "approve, co-sign, reject or escalate a proposal")
    p.add_argument("id")
    identity_args(p, 'an automated job, recorded as "system:NAME": agent-tier proposals only (escalate: any)')
    p.add_argument("--role", help="optional: must match your account's role")
    p.add_argument("--decision", required=True, choices=["approve", "cosign", "reject", "escalate"])
    p.add_argument("--note")
    add(ledger, "verify", cmd_ledger_verify, "check the audit hash chain (exit 1 when not ok)").add_argument(
        "--anchor",
        metavar="FILE",
        help=f"an anchor log (default: ${ANCHOR_ENV} when it exists): each anchored head must still be in the chain",
    )
    add(
        ledger,
        "anchor",
        cmd_ledger_anchor,
        "append the chain's head (events, hash, time) to an anchor log kept elsewhere",
    ).add_argument("--out", metavar="FILE", help=f"the anchor log to append to (default: ${ANCHOR_ENV})")
    p = add(ledger, "review-sample", cmd_ledger_review_sample, "draw peer-approved decisions for review")
    p.add_argument("-n", type=_count(), default=5, help=f"how many (1 to {MAX_LIST}, default 5)")
    p.add_argument("--seed", type=int)
    p = add(ledger, "review", cmd_ledger_review, "record a reviewer's verdict on a peer-approved decision")
    p.add_argument("id")
    identity_args(p, "not accepted: a review is a person's verdict")
    p.add_argument("--verdict", required=True, choices=["upheld", "overturned"])
    p.add_argument("--note")

    db = sub.add_parser("db", help="the database (ledger and customer store)").add_subparsers(dest="sub", required=True)
    add(db, "upgrade", cmd_db_upgrade, "create or migrate the schema (safe to repeat)")
    add(db, "seed-demo", cmd_db_seed_demo, "load the demo customers and orders (safe to repeat)").add_argument(
        "--list", action="store_true", help="list the demo orders"
    )
    from makegood.accounts.cli import add_commands as add_user_commands

    add_user_commands(sub, add)
    from makegood.customers.cli import add_commands as add_customer_commands

    add_customer_commands(sub, add)
    stories = sub.add_parser("stories", help="story files").add_subparsers(dest="sub", required=True)
    add(
        stories, "check", cmd_stories_check, "check that stories offer nothing beyond the bot's authority"
    ).add_argument("paths", nargs="*", default=["data"])

    situation = sub.add_parser("situation", help="situations taught by data").add_subparsers(dest="sub", required=True)
    p = add(situation, "new", cmd_situation_new, "scaffold a new situation: catalog, NLU, domain and opening rule")
    p.add_argument("id", help="the situation id, snake_case (also the intent name), e.g. warranty_claim")
    p.add_argument("--description", help="one line: what went wrong for the customer")
    p.add_argument(
        "--policy-dir",
        help="the policy directory to add it to (default: the configured one; with --project-root, ROOT/policy)",
    )
    p.add_argument("--project-root", help="where data/ and rasa_project/domain/ are (default: the repository root)")
    project = sub.add_parser("project", help="the project as a whole").add_subparsers(dest="sub", required=True)
    p = add(
        project, "check", cmd_project_check, "check that catalog, domain, NLU data and rules agree (exit 1 when not)"
    )
    p.add_argument(
        "--project-root",
        help="the project's root (default: the repository root); its policy is ROOT/policy unless --policy",
    )
    p.add_argument("--data", help="the training data directory (default: ROOT/data)")
    p.add_argument("--domain", help="the domain file or directory (default: ROOT/rasa_project/domain)")
    p.add_argument(
        "--min-examples", type=_count(), default=None, help="real NLU examples each situation needs (default 5)"
    )
    return parser


# -- database and stories --------------------------------------------------------------------------
def cmd_db_upgrade(args):
    from makegood.config import get_settings
    from makegood.db import migrate, safe_url

    url = get_settings().database_url
    migrate(url)
    _emit(args, {"ok": True, "database": safe_url(url)}, lambda r: f"ok: database schema up to date ({r['database']})")


def cmd_db_seed_demo(args):
    from datetime import date

    from makegood.config import get_settings
    from makegood.customers import demo_data, seed_demo
    from makegood.db import make_engine, migrate

    url = get_settings().database_url
    migrate(url)
    engine = make_engine(url)
    try:
        counts = seed_demo(engine, date.today())
    finally:
        engine.dispose()
    if args.list:
        customers, orders, _ = demo_data(date.today())
        names = {c.id: f"{c.name} ({c.membership})" for c in customers}
        rows = [
            {"order": o.id, "customer": names[o.customer_id], "items": o.items, "total": str(o.total)} for o in orders
        ]
        _emit(
            args,
            rows,
            lambda rs: "\n".join(f"{r['order']}  {r['total']:>8}  {r['customer']:<26} {r['items']}" for r in rs),
        )
        return
    _emit(args, counts, lambda c: f"ok: demo data seeded ({c['customers']} customers, {c['orders']} orders)")


def cmd_stories_check(args):
    from makegood.storycheck import check_story_files

    catalog = _catalog(args)
    checked, problems = check_story_files(catalog, [Path(p) for p in args.paths])
    result = {
        "ok": not problems,
        "checked": checked,
        "policy_version": catalog.version,
        "problems": [str(p) for p in problems],
    }
    _emit(
        args,
        result,
        lambda r: (
            (
                f"ok: {r['checked']} stories and rules offer nothing beyond the bot's authority "
                f"(policy {r['policy_version']})"
            )
            if r["ok"]
            else f"{len(r['problems'])} story step(s) offer what the policy does not allow the bot:\n"
            + "\n".join(f"  {p}" for p in r["problems"])
        ),
    )
    if problems:
        sys.exit(1)


# -- situations taught by data ------------------------------------------------------------------
def _layout(args: argparse.Namespace, policy: str | None):
    """The project's pieces. An explicit --project-root brings its own policy (ROOT/policy) unless
    one is named: a scaffold must never write its catalog entry into another checkout's policy."""
    from makegood.config import project_root
    from makegood.projectcheck import Layout

    root = Path(args.project_root) if args.project_root else project_root()
    if args.project_root and not root.is_dir():
        raise MakegoodError(f"--project-root {args.project_root}: not a directory")
    if policy is None and args.project_root:
        policy = str(root / "policy")
    data = getattr(args, "data", None)
    domain = getattr(args, "domain", None)
    return Layout.of(
        root,
        policy=Path(_policy_path(policy)),
        data=Path(data) if data else None,
        domain=Path(domain) if domain else None,
    )


def cmd_situation_new(args):
    from makegood.scaffold import new_situation

    layout = _layout(args, args.policy_dir or args.policy)
    done = new_situation(layout, args.id, args.description)
    files = [layout.show(f) for f in done.files]
    result = {"ok": True, "situation": done.situation, "files": files}
    _emit(
        args,
        result,
        lambda r: "\n".join(
            [f"ok: scaffolded situation {r['situation']}; wrote:", *(f"  {f}" for f in r["files"])]
            + [
                "next:",
                "  1. fill in every TODO in those files: the description, the facts it needs, the remedies and",
                "     caps; real NLU examples (at least 5); the apology and the clarify wording",
                "  2. make validate   (fails, naming each TODO, until they are all filled in)",
                "  3. make train",
            ]
        ),
    )


def cmd_project_check(args):
    from makegood.policy import load_catalog
    from makegood.projectcheck import MIN_EXAMPLES, check_project

    layout = _layout(args, args.policy)
    catalog = load_catalog(layout.policy)
    problems = check_project(catalog, layout, args.min_examples or MIN_EXAMPLES)
    result = {
        "ok": not problems,
        "situations": len(catalog.situations),
        "policy_version": catalog.version,
        "problems": [str(p) for p in problems],
    }
    _emit(
        args,
        result,
        lambda r: (
            f"ok: {r['situations']} situations agree across catalog, domain, NLU data and rules"
            if r["ok"]
            else f"{len(r['problems'])} problem(s): catalog, domain, NLU data and rules disagree:\n"
            + "\n".join(f"  {p}" for p in r["problems"])
        ),
    )
    if problems:
        sys.exit(1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except MakegoodError as exc:
        print(f"makegood: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
