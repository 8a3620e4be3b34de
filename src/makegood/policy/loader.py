"""Load and validate the policy catalog. Every error names the file, the key path and
what was expected, because the catalog is edited by business people, not programmers."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import yaml

from makegood.errors import PolicyError
from makegood.money import ABSURD_AMOUNT
from makegood.policy.case import coerce_fact, enum_value  # the one place that types a fact value
from makegood.policy.conditions import OPERATORS, AllOf, AnyOf, Condition, FactTest, Not, facts_named
from makegood.policy.derived import Derivation, DerivationError, parse_derivation
from makegood.policy.model import (
    CONSTANTS,
    FACT_TYPES,
    MONEY_READINGS,
    NUMERIC_FACT_TYPES,
    REMEDY_KINDS,
    SITUATION_ID,
    SIZELESS_KINDS,
    WHOLE_FACT_TYPES,
    AmountSpec,
    Cap,
    Catalog,
    FactSpec,
    PerCustomer,
    PlanPolicy,
    Remedy,
    RemedyRule,
    Situation,
)
from makegood.policy.tiers import Tier

CATALOG_FILE = "catalog.yml"
POLICY_SUFFIXES = (".yml", ".yaml")
# Top-level sections whose entries may be spread over several files of a policy directory; every
# other top-level key (label, currency, payment_plans, ...) is written in one file only.
MERGED_SECTIONS = ("facts", "remedies", "situations", "tiers", "notes")
MAX_QUESTION = 300  # characters: a question the bot says in one chat bubble
MAX_WHOLE = 1_000_000  # no count, day or week limit in a catalog is bigger than this
_SITUATION_ID = re.compile(SITUATION_ID)

# Limits on what the loader reads, far above any real catalog (the shipped one is ~20 KB and
# 8 levels deep), so a wrong path (/dev/zero, a log file) or a hostile file is refused with one
# clear error instead of a MemoryError or a RecursionError.
MAX_CATALOG_BYTES = 1_000_000
MAX_NESTING = 20  # mappings and lists inside each other
MAX_ALIASES = 100  # YAML aliases (*name): a handful is editing convenience, thousands is a "billion laughs"


def load_catalog(path: str | Path) -> Catalog:
    """Load `path`: a catalog file, or a directory of policy files (every *.yml / *.yaml in it,
    merged: see `merge_documents`). Only regular files of at most MAX_CATALOG_BYTES are read."""
    path = Path(path)
    try:
        if not path.exists():
            raise PolicyError(f"{path}: policy catalog not found")
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in POLICY_SUFFIXES and not p.name.startswith("."))
            if not files:
                raise PolicyError(f"{path}: policy catalog not found (no *.yml files in this directory)")
        else:
            files = [path]
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy catalog: {exc.strerror or exc}") from None
    documents: list[tuple[str, Any]] = []
    total = 0
    for file in files:
        text = _read_policy_file(file)
        total += len(text)
        if total > MAX_CATALOG_BYTES:
            raise PolicyError(f"{path}: the policy files together are larger than {MAX_CATALOG_BYTES // 1_000_000} MB")
        documents.append((str(file), parse_yaml(text, str(file))))
    if len(documents) == 1:
        source, raw = documents[0]
        return _Builder(source).catalog(raw)
    raw, origins = merge_documents(documents)
    return _Builder(str(path), origins).catalog(raw)


def _read_policy_file(path: Path) -> str:
    try:
        if not path.is_file():
            raise PolicyError(
                f"{path}: not a regular file; the policy catalog must be a YAML file (or a directory of YAML files)"
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_CATALOG_BYTES + 1)  # never more, whatever the file claims to be
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy catalog: {exc.strerror or exc}") from None
    if len(data) > MAX_CATALOG_BYTES:
        raise PolicyError(
            f"{path}: the policy catalog is larger than {MAX_CATALOG_BYTES // 1_000_000} MB; is this the right file?"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"{path}: cannot read the policy catalog: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def parse_catalog(text: str, source: str = "<catalog>") -> Catalog:
    return _Builder(source).catalog(parse_yaml(text, source))


def parse_yaml(text: str, source: str) -> Any:
    """One policy file's YAML, read with `PolicyLoader`: only true/false are booleans, and a key
    written twice in one mapping is an error naming the line."""
    if len(text) > MAX_CATALOG_BYTES:
        raise PolicyError(f"{source}: the policy catalog is larger than {MAX_CATALOG_BYTES // 1_000_000} MB")
    try:
        _check_shape(text, source)
        return yaml.load(text, Loader=PolicyLoader)  # noqa: S506 - PolicyLoader is a SafeLoader
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{source}{line}: not valid YAML: {problem}") from None
    except RecursionError:  # belt and braces: _check_shape refuses deep nesting first
        raise PolicyError(f"{source}: the YAML is nested too deeply (more than {MAX_NESTING} levels)") from None


class PolicyLoader(yaml.SafeLoader):
    """SafeLoader for business-written YAML. `yes`, `no`, `on`, `off` stay text (YAML 1.1 would
    make them booleans, so an enum value `no` would silently become false); only true/false are
    booleans. A key given twice in one mapping is refused with its line, never silently overwritten."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeConstructor says so below
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first given on line {first.start_mark.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def merge_documents(documents: list[tuple[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge the policy files of a directory: the entries of `facts`, `remedies`, `situations`,
    `tiers` and `notes` may come from any file; anything defined in two files is an error naming
    both. Returns the merged catalog and, per key path ("situations.fee_dispute"), its file."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for source, raw in documents:
        if raw is None:
            continue  # an empty file (or only comments)
        if not isinstance(raw, dict):
            raise PolicyError(f"{source}: top level: expected a mapping of keys, got {_kind(raw)}")
        for key, value in raw.items():
            if key in MERGED_SECTIONS and isinstance(value, dict):
                section = merged.setdefault(key, {})
                if not isinstance(section, dict):
                    raise PolicyError(f"{source}: {key}: expected a mapping of keys")
                origins.setdefault(str(key), source)
                for name, body in value.items():
                    where = f"{key}.{name}"
                    if name in section:
                        raise PolicyError(
                            f"{source}: {where}: already defined in {origins[where]}; "
                            f"define each {_singular(str(key))} in one file only"
                        )
                    section[name] = body
                    origins[where] = source
            else:
                if key in merged:
                    raise PolicyError(
                        f"{source}: {key}: already defined in {origins[str(key)]}; "
                        "a top-level key is written in one file only"
                    )
                merged[key] = value
                origins[str(key)] = source
    return merged, origins


def _singular(section: str) -> str:
    return {"facts": "fact", "remedies": "remedy", "situations": "situation", "tiers": "tier"}.get(section, "key")


def _check_shape(text: str, source: str) -> None:
    """Refuse nesting deeper than MAX_NESTING and more than MAX_ALIASES aliases, walking the
    parser's event stream (flat, no recursion) before anything is built from it."""
    depth = 0
    aliases = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise PolicyError(
                    f"{_at(source, event.start_mark)}: nested more than "
                    f"{MAX_NESTING} levels deep; a policy catalog never needs that many"
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise PolicyError(
                    f"{_at(source, event.start_mark)}: more than "
                    f"{MAX_ALIASES} YAML aliases (*name); write the values out instead"
                )


class _Mark(Protocol):  # yaml.error.Mark, or the C parser's own
    line: int
    column: int


def _at(source: str, mark: _Mark | None) -> str:
    """`source (line L, column C)`; the parser gives every event a mark, but its types allow none."""
    return source if mark is None else f"{source} (line {mark.line + 1}, column {mark.column + 1})"


def policy_version(raw: Any) -> str:
    """Hash of the canonical content: comments and key order do not change the version."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return "pv-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


class _Builder:
    def __init__(self, source: str, origins: Mapping[str, str] | None = None):
        self.source = source
        self.origins = origins or {}  # key path -> the file it came from, for a policy directory

    # -- error helpers -------------------------------------------------------
    def fail(self, where: str, message: str) -> PolicyError:
        parts = re.split(r"[.\[]", where)
        source = self.origins.get(".".join(parts[:2])) or self.origins.get(parts[0]) or self.source
        return PolicyError(f"{source}: {where}: {message}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping of keys, got {_kind(value)}")
        return value

    def only_keys(self, value: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")

    def required(self, value: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in value:
            raise self.fail(where, f"missing required key {key!r}")
        return value[key]

    def amount(self, value: Any, where: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(where, f"expected a non-negative number, got {_kind(value)}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(where, f"expected a non-negative number, got {value!r}") from None
        if not number.is_finite() or number < 0:
            raise self.fail(where, f"expected a non-negative number, got {value!r}")
        if number > ABSURD_AMOUNT:
            raise self.fail(where, f"{value} is beyond any amount Makegood handles (at most {ABSURD_AMOUNT})")
        return number

    def whole(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(where, f"expected a whole number >= 0, got {value!r}")
        if value > MAX_WHOLE:
            raise self.fail(where, f"{value} is beyond any limit Makegood handles (at most {MAX_WHOLE})")
        return value

    def name(self, value: Any, where: str) -> str:
        """A fact, remedy or situation name: text, never a list or a mapping (which would not even hash)."""
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"expected a name, got {_kind(value)}")
        return value

    def listed(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {_kind(value)}")
        return value

    def tier(self, value: Any, where: str) -> Tier:
        try:
            return Tier(value)
        except ValueError:
            names = ", ".join(t.value for t in Tier.ordered())
            raise self.fail(where, f"unknown tier {value!r}; expected one of: {names}") from None

    # -- sections ------------------------------------------------------------
    def catalog(self, raw: Any) -> Catalog:
        top = self.mapping(raw, "top level")
        self.only_keys(
            top,
            "top level",
            {
                "label",
                "currency",
                "exception_period_days",
                "facts",
                "remedies",
                "tiers",
                "handoff_tier",
                "situations",
                "payment_plans",
                "notes",
                "return_window_days",
            },
        )
        facts = self.facts(self.required(top, "facts", "top level"))
        remedies = self.remedies(self.required(top, "remedies", "top level"))
        tier_limits = self.tier_limits(top.get("tiers", {}))
        situations_raw = self.mapping(self.required(top, "situations", "top level"), "situations")
        if not situations_raw:
            raise self.fail("situations", "the catalog declares no situations; declare at least one")
        situations = {sid: self.situation(sid, body, facts, remedies) for sid, body in situations_raw.items()}
        plans = self.plans(top["payment_plans"]) if "payment_plans" in top else None
        planned = next((r for s in situations.values() for r in s.remedies if remedies[r.remedy].kind == "plan"), None)
        if planned is not None and plans is None:
            raise self.fail(
                "payment_plans",
                f"a situation offers {planned.remedy} but the catalog has no "
                f"payment_plans section (rule {planned.id} is a plan)",
            )
        return Catalog(
            version=policy_version(raw),
            label=str(top.get("label", "")),
            source=self.source,
            currency=str(top.get("currency", "USD")),
            exception_period_days=self.whole(top.get("exception_period_days", 90), "exception_period_days"),
            facts=facts,
            remedies=remedies,
            tier_max_recent_exceptions=tier_limits,
            handoff_tier=self.tier(top.get("handoff_tier", "agent"), "handoff_tier"),
            situations=situations,
            plans=plans,
            return_window_days=self.whole(top.get("return_window_days", 30), "return_window_days"),
            notes={str(k): str(v) for k, v in self.mapping(top.get("notes", {}), "notes").items()},
        )

    def facts(self, raw: Any) -> dict[str, FactSpec]:
        out = {}
        for name, body in self.mapping(raw, "facts").items():
            where = f"facts.{name}"
            body = self.mapping(body, where)
            self.only_keys(body, where, {"type", "source", "description", "values", "default", "ask", "read"})
            ftype = self.required(body, "type", where)
            if ftype not in FACT_TYPES:
                raise self.fail(f"{where}.type", f"expected one of {', '.join(FACT_TYPES)}, got {ftype!r}")
            source = body.get("source", "conversation")
            if source not in ("company", "conversation"):
                raise self.fail(f"{where}.source", f"expected company or conversation, got {source!r}")
            values_raw = self.listed(body.get("values", []), f"{where}.values")
            for i, v in enumerate(values_raw):
                if isinstance(v, bool) or not isinstance(v, (str, int)) or not str(v).strip():
                    raise self.fail(
                        f"{where}.values[{i}]",
                        f"expected a word, got {_kind(v)}" + ("; write it in quotes" if isinstance(v, bool) else ""),
                    )
            values = tuple(str(v) for v in values_raw)
            if ftype == "enum" and not values:
                raise self.fail(f"{where}.values", "an enum fact needs a list of values")
            if ftype != "enum" and values:
                raise self.fail(f"{where}.values", f"only an enum fact has values; {name} is a {ftype}")
            folded = [" ".join(v.split()).casefold() for v in values]
            twice = next((v for v, f in zip(values, folded, strict=True) if folded.count(f) > 1), None)
            if twice is not None:
                raise self.fail(f"{where}.values", f"{twice!r} is listed twice (values are matched whatever the case)")
            ask = self.question(body.get("ask", ""), f"{where}.ask")
            if ask and source == "company":
                raise self.fail(
                    f"{where}.ask", f"{name} is a company fact, read from the customer store: nobody is asked for it"
                )
            read = body.get("read", "amount")
            if read not in MONEY_READINGS or (read != "amount" and ftype != "money"):
                raise self.fail(
                    f"{where}.read",
                    f"a money fact is read as one of {', '.join(MONEY_READINGS)}; other facts are read by their type"
                    f", got {read!r}",
                )
            spec = FactSpec(
                name=name,
                type=ftype,
                source=source,
                description=str(body.get("description", "")),
                values=values,
                default=None,
                ask=ask.strip(),
                read=read,
            )
            if "default" in body:
                try:
                    default = coerce_fact(spec, body["default"])
                except Exception as exc:  # noqa: BLE001 - reworded with the catalog path
                    raise self.fail(f"{where}.default", str(exc)) from None
                spec = FactSpec(**{**spec.__dict__, "default": default})
            out[name] = spec
        return out

    def remedies(self, raw: Any) -> dict[str, Remedy]:
        out = {}
        for name, body in self.mapping(raw, "remedies").items():
            where = f"remedies.{name}"
            body = self.mapping(body, where)
            self.only_keys(
                body,
                where,
                {"kind", "cost_factor", "description", "per_order", "per_customer", "counts_toward_order_total"},
            )
            kind = self.required(body, "kind", where)
            if kind not in REMEDY_KINDS:
                raise self.fail(f"{where}.kind", f"expected one of {', '.join(REMEDY_KINDS)}, got {kind!r}")
            toward_total = body.get("counts_toward_order_total", kind == "money")
            if not isinstance(toward_total, bool):
                raise self.fail(f"{where}.counts_toward_order_total", f"expected true or false, got {toward_total!r}")
            default_cost = 0 if kind in SIZELESS_KINDS else 1  # item/none: what one grant costs
            out[name] = Remedy(
                name=name,
                kind=kind,
                cost_factor=self.amount(body.get("cost_factor", default_cost), f"{where}.cost_factor"),
                description=str(body.get("description", "")),
                per_order=self.per_order(body.get("per_order", 1), f"{where}.per_order"),
                per_customer=self.per_customer(body.get("per_customer"), f"{where}.per_customer"),
                counts_toward_order_total=toward_total,
            )
        return out

    def per_order(self, value: Any, where: str) -> int | None:
        if value == "unlimited":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(where, f"expected a whole number >= 1 or 'unlimited', got {value!r}")
        return value

    def per_customer(self, value: Any, where: str) -> PerCustomer | None:
        if value is None:
            return None
        body = self.mapping(value, where)
        self.only_keys(body, where, {"times", "days"})
        times = self.whole(self.required(body, "times", where), f"{where}.times")
        days = self.whole(self.required(body, "days", where), f"{where}.days")
        if times < 1 or not 1 <= days <= 3650:
            raise self.fail(where, f"expected times >= 1 and days between 1 and 3650, got {dict(body)!r}")
        return PerCustomer(times=times, days=days)

    def tier_limits(self, raw: Any) -> dict[Tier, int | None]:
        out: dict[Tier, int | None] = dict.fromkeys(Tier.ordered())
        for name, body in self.mapping(raw, "tiers").items():
            tier = self.tier(name, "tiers")
            body = self.mapping(body or {}, f"tiers.{name}")
            self.only_keys(body, f"tiers.{name}", {"max_recent_exceptions"})
            if "max_recent_exceptions" in body:
                out[tier] = self.whole(body["max_recent_exceptions"], f"tiers.{name}.max_recent_exceptions")
        # A tier left without a limit has none, so every tier takes part: an unlimited agent above
        # a peer limited to 3 would be a higher tier with less authority.
        self.monotonic(out, "tiers", "max_recent_exceptions", unlimited_ok=True)
        return out

    def situation(
        self, sid: str, body: Any, facts: Mapping[str, FactSpec], remedies: Mapping[str, Remedy]
    ) -> Situation:
        where = f"situations.{sid}"
        if not isinstance(sid, str) or not _SITUATION_ID.match(sid):
            raise self.fail(
                where,
                "a situation id is 2 to 49 lower-case letters, digits and underscores, "
                f"starting with a letter (e.g. fee_dispute), got {sid!r}",
            )
        body = self.mapping(body, where)
        self.only_keys(
            body,
            where,
            {
                "description",
                "needs",
                "eligible",
                "ordinary_when",
                "remedies",
                "fair_ask",
                "fair_ask_remedy",
                "handoff",
                "handoff_tier",
                "asks",
                "derive",
            },
        )
        handoff_tier, handoff_reason = self.situation_handoff(body, where)
        needs = tuple(
            self.name(f, f"{where}.needs[{i}]")
            for i, f in enumerate(self.listed(body.get("needs", []), f"{where}.needs"))
        )
        for i, fact in enumerate(needs):
            if fact not in facts:
                raise self.fail(f"{where}.needs[{i}]", f"unknown fact {fact!r}")
        eligible = self.conditions(body.get("eligible", []), f"{where}.eligible", facts)
        ordinary = self.conditions(body.get("ordinary_when", []), f"{where}.ordinary_when", facts)
        for i, condition in enumerate(ordinary):
            if not getattr(condition, "reason", ""):
                raise self.fail(f"{where}.ordinary_when[{i}]", "needs a `reason:`, the sentence the customer is told")
        rules_raw = self.required(body, "remedies", where)
        if not isinstance(rules_raw, list) or not rules_raw:
            raise self.fail(f"{where}.remedies", "expected a non-empty list of remedy rules")
        rules = tuple(self.rule(sid, i, r, facts, remedies) for i, r in enumerate(rules_raw))
        ids = [r.id for r in rules]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise self.fail(f"{where}.remedies", f"two rules are both called {duplicate!r}; give one an `id`")
        fair_ask_remedy = body.get("fair_ask_remedy")
        if fair_ask_remedy is not None:
            self.name(fair_ask_remedy, f"{where}.fair_ask_remedy")
        if fair_ask_remedy is not None and fair_ask_remedy not in {r.remedy for r in rules}:
            raise self.fail(f"{where}.fair_ask_remedy", f"{fair_ask_remedy!r} is not one of this situation's remedies")
        fair_ask = body.get("fair_ask", False)
        if not isinstance(fair_ask, bool):
            raise self.fail(f"{where}.fair_ask", f"expected true or false, got {fair_ask!r}")
        situation = Situation(
            id=sid,
            description=str(body.get("description", "")),
            needs=needs,
            eligible=eligible,
            remedies=rules,
            fair_ask=fair_ask,
            fair_ask_remedy=fair_ask_remedy,
            handoff_tier=handoff_tier,
            handoff_reason=handoff_reason,
            ordinary=ordinary,
            asks=self.asks(body.get("asks", {}), f"{where}.asks", facts),
            derive=self.derivations(body.get("derive", {}), f"{where}.derive", facts),
        )
        self.questions_declared(situation, where, facts)
        return situation

    def asks(self, raw: Any, where: str, facts: Mapping[str, FactSpec]) -> dict[str, str]:
        """`asks: {fact: question}`: this situation's own wording for a conversation fact."""
        out: dict[str, str] = {}
        for fact, question in self.mapping(raw, where).items():
            self.conversation_fact(fact, f"{where}.{fact}", facts, ", read from the customer store")
            out[fact] = self.question(question, f"{where}.{fact}", required=True)
        return out

    def question(self, value: Any, where: str, *, required: bool = False) -> str:
        """A question the bot says in one chat bubble."""
        if not isinstance(value, str) or len(value) > MAX_QUESTION or (required and not value.strip()):
            raise self.fail(where, f"expected the question as a sentence of at most {MAX_QUESTION} characters")
        return value.strip()

    def conversation_fact(self, fact: str, where: str, facts: Mapping[str, FactSpec], company: str) -> FactSpec:
        """The declared fact `fact`, refused when unknown or known by the company (`company` says why)."""
        spec = facts.get(fact)
        if spec is None:
            raise self.fail(where, f"unknown fact {fact!r}")
        if spec.source == "company":
            raise self.fail(where, f"{fact} is a company fact{company}")
        return spec

    def derivations(self, raw: Any, where: str, facts: Mapping[str, FactSpec]) -> dict[str, Derivation]:
        """`derive: {fact: expression}`: facts worked out from others (policy/derived.py)."""
        out: dict[str, Derivation] = {}
        names = set(facts) | set(CONSTANTS)
        for fact, text in self.mapping(raw, where).items():
            spec = self.conversation_fact(fact, f"{where}.{fact}", facts, ": the customer store knows it")
            if spec.type not in NUMERIC_FACT_TYPES:
                raise self.fail(f"{where}.{fact}", f"only a number can be derived; {fact} is a {spec.type}")
            try:
                out[fact] = parse_derivation(fact, text, names)
            except DerivationError as exc:
                raise self.fail(f"{where}.{fact}", str(exc)) from None
        return out

    def questions_declared(self, situation: Situation, where: str, facts: Mapping[str, FactSpec]) -> None:
        """Every fact the customer will be asked for has a question to ask."""
        for fact in sorted(situation.needed()):
            spec = facts[fact]
            asked = spec.source == "conversation" and fact not in situation.derive and spec.default is None
            if asked and not (situation.asks.get(fact) or spec.ask):
                raise self.fail(
                    where,
                    f"{fact} is asked of the customer here but has no question: give facts.{fact} an `ask:` "
                    f"(or this situation an `asks: {{{fact}: ...}}`), or `derive:` it from other facts",
                )

    def situation_handoff(self, body: Mapping[str, Any], where: str) -> tuple[Tier | None, str]:
        """`handoff: {tier: supervisor, reason: ...}` or `handoff_tier: supervisor`."""
        if "handoff" in body and "handoff_tier" in body:
            raise self.fail(where, "give either `handoff` or `handoff_tier`, not both")
        if "handoff_tier" in body:
            return self.tier(body["handoff_tier"], f"{where}.handoff_tier"), ""
        if "handoff" not in body:
            return None, ""
        handoff = self.mapping(body["handoff"], f"{where}.handoff")
        self.only_keys(handoff, f"{where}.handoff", {"tier", "reason"})
        tier = self.tier(self.required(handoff, "tier", f"{where}.handoff"), f"{where}.handoff.tier")
        reason = handoff.get("reason", "")
        if not isinstance(reason, str):
            raise self.fail(f"{where}.handoff.reason", f"expected a sentence, got {_kind(reason)}")
        return tier, reason

    def rule(
        self, sid: str, index: int, body: Any, facts: Mapping[str, FactSpec], remedies: Mapping[str, Remedy]
    ) -> RemedyRule:
        where = f"situations.{sid}.remedies[{index}]"
        body = self.mapping(body, where)
        self.only_keys(body, where, {"id", "remedy", "amount", "caps", "when", "adjustable", "counts_as_exception"})
        remedy_name = self.name(self.required(body, "remedy", where), f"{where}.remedy")
        if remedy_name not in remedies:
            raise self.fail(f"{where}.remedy", f"unknown remedy {remedy_name!r}; known: {', '.join(sorted(remedies))}")
        remedy = remedies[remedy_name]
        amount = self.amount_spec(body.get("amount"), f"{where}.amount", facts, remedy)
        caps_raw = self.mapping(self.required(body, "caps", where), f"{where}.caps")
        caps = {}
        for tier_name, cap_body in caps_raw.items():
            tier = self.tier(tier_name, f"{where}.caps")
            caps[tier] = self.cap(cap_body, f"{where}.caps.{tier_name}", remedy)
        if not caps:
            raise self.fail(f"{where}.caps", "at least one tier must be able to grant this remedy")
        lowest = min(caps, key=lambda t: t.rank)
        gap = next((t for t in Tier.ordered() if t > lowest and t not in caps), None)
        if gap is not None:
            # A tier not listed may not give the remedy at all: below a listed tier, that is less authority.
            raise self.fail(
                f"{where}.caps",
                f"{gap} is not listed but {lowest} is; a higher tier never has "
                f"less authority, so list {gap} with at least {lowest}'s caps",
            )
        for attr in ("max_amount", "max_percent", "max_days"):
            self.monotonic({t: getattr(c, attr) for t, c in caps.items()}, f"{where}.caps", attr, unlimited_ok=True)
        return RemedyRule(
            id=str(body.get("id", f"{sid}.{remedy_name}")),
            situation=sid,
            remedy=remedy_name,
            amount=amount,
            caps=caps,
            when=self.conditions(body.get("when", []), f"{where}.when", facts),
            adjustable=self.flag(body, "adjustable", False, where),
            counts_as_exception=self.flag(body, "counts_as_exception", True, where),
        )

    def flag(self, body: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
        value = body.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"expected true or false, got {value!r}")
        return value

    def amount_spec(self, raw: Any, where: str, facts: Mapping[str, FactSpec], remedy: Remedy) -> AmountSpec:
        if remedy.kind in SIZELESS_KINDS:
            if raw is not None:
                raise self.fail(where, f"{remedy.name} is an {remedy.kind} remedy: it has no size; remove `amount`")
            return AmountSpec()
        if remedy.kind == "plan":
            # A plan is sized by the balance it spreads: {fact: NAME} (a money fact), debt_amount by default.
            if raw is None:
                if "debt_amount" not in facts:
                    raise self.fail(where, "a plan needs the balance it spreads: amount: {fact: NAME}")
                raw = {"fact": "debt_amount"}
            body = self.mapping(raw, where)
            self.only_keys(body, where, {"fact"})
            self.numeric_fact(self.required(body, "fact", where), f"{where}.fact", facts, money=True)
            return AmountSpec(fact=body["fact"])
        if raw is None:
            raise self.fail(where, "missing required key 'amount'")
        if not isinstance(raw, dict):
            return AmountSpec(fixed=self.amount(raw, where))
        self.only_keys(raw, where, {"fact", "fixed", "percent", "of", "per"})
        per = None
        if "per" in raw:
            per = self.numeric_fact(raw["per"], f"{where}.per", facts, whole=True)
            raw = {k: v for k, v in raw.items() if k != "per"}
        if "fixed" in raw and len(raw) == 1:
            return AmountSpec(fixed=self.amount(raw["fixed"], f"{where}.fixed"), per=per)
        if "fact" in raw and len(raw) == 1:
            return AmountSpec(fact=self.numeric_fact(raw["fact"], f"{where}.fact", facts), per=per)
        if set(raw) == {"percent", "of"}:
            of = self.numeric_fact(raw["of"], f"{where}.of", facts)
            return AmountSpec(percent=self.amount(raw["percent"], f"{where}.percent"), of=of, per=per)
        raise self.fail(
            where,
            "expected one of {fixed: N}, {fact: NAME} or {percent: N, of: NAME}, each optionally with per: COUNT_FACT",
        )

    def numeric_fact(
        self, name: Any, where: str, facts: Mapping[str, FactSpec], *, whole: bool = False, money: bool = False
    ) -> str:
        if self.name(name, where) not in facts:
            raise self.fail(where, f"unknown fact {name!r}")
        ftype = facts[name].type
        if whole and ftype not in WHOLE_FACT_TYPES:
            raise self.fail(
                where, f"fact {name!r} is a {ftype}; `per` needs a whole number ({', '.join(WHOLE_FACT_TYPES)})"
            )
        if money and ftype != "money":
            raise self.fail(where, f"fact {name!r} is a {ftype}, not money")
        if ftype not in NUMERIC_FACT_TYPES:
            raise self.fail(where, f"fact {name!r} is a {ftype}, not a number")
        return str(name)

    def cap(self, raw: Any, where: str, remedy: Remedy) -> Cap:
        raw = self.mapping(raw or {}, where)
        sized = {"days": {"max_days"}, "item": set(), "none": set()}.get(remedy.kind, {"max_amount", "max_percent"})
        allowed = {"max_recent_exceptions"} | sized
        self.only_keys(raw, where, allowed)
        return Cap(
            max_amount=self.amount(raw["max_amount"], f"{where}.max_amount") if "max_amount" in raw else None,
            max_percent=self.amount(raw["max_percent"], f"{where}.max_percent") if "max_percent" in raw else None,
            max_days=self.whole(raw["max_days"], f"{where}.max_days") if "max_days" in raw else None,
            max_recent_exceptions=(
                self.whole(raw["max_recent_exceptions"], f"{where}.max_recent_exceptions")
                if "max_recent_exceptions" in raw
                else None
            ),
        )

    def monotonic(self, values: Mapping[Tier, Any], where: str, attr: str, unlimited_ok: bool = False) -> None:
        """A higher tier never has less authority than a lower one."""
        previous: tuple[Tier, Any] | None = None
        for tier in Tier.ordered():
            if tier not in values:
                continue
            value = values[tier]
            if previous is not None:
                low_tier, low = previous
                if low is None and value is not None and unlimited_ok:
                    raise self.fail(where, f"{attr}: {tier} ({value}) is below {low_tier} (no limit)")
                if low is not None and value is not None and value < low:
                    raise self.fail(
                        where,
                        f"{attr}: {tier} ({value}) is below {low_tier} ({low}); a higher tier never has less authority",
                    )
            previous = (tier, value)

    def conditions(self, raw: Any, where: str, facts: Mapping[str, FactSpec]) -> tuple[Condition, ...]:
        if not isinstance(raw, list):
            raise self.fail(where, f"expected a list of conditions, got {_kind(raw)}")
        return tuple(self.condition(c, f"{where}[{i}]", facts) for i, c in enumerate(raw))

    def condition(self, raw: Any, where: str, facts: Mapping[str, FactSpec]) -> Condition:
        raw = self.mapping(raw, where)
        reason = str(raw.get("reason", ""))
        for combinator, cls in (("all", AllOf), ("any", AnyOf)):
            if combinator in raw:
                self.only_keys(raw, where, {combinator, "reason"})
                parts = self.conditions(raw[combinator], f"{where}.{combinator}", facts)
                return cls(parts=parts, reason=reason)
        if "not" in raw:
            self.only_keys(raw, where, {"not", "reason"})
            return Not(part=self.condition(raw["not"], f"{where}.not", facts), reason=reason)
        fact = self.name(self.required(raw, "fact", where), f"{where}.fact")
        if fact not in facts:
            raise self.fail(f"{where}.fact", f"unknown fact {fact!r}; declare it under `facts`")
        ops = [k for k in raw if k in OPERATORS]
        self.only_keys(raw, where, {"fact", "reason", *OPERATORS})
        if len(ops) != 1:
            raise self.fail(where, f"expected exactly one test of {', '.join(OPERATORS)}")
        op, operand = ops[0], raw[ops[0]]
        spec = facts[fact]
        if op in ("present", "absent"):
            if not isinstance(operand, bool):
                raise self.fail(f"{where}.{op}", f"expected true or false, got {operand!r}")
        elif op in ("min", "max", "above", "below"):
            if spec.type not in NUMERIC_FACT_TYPES:
                raise self.fail(f"{where}.{op}", f"fact {fact!r} is a {spec.type}; {op} needs a number")
            operand = self.amount(operand, f"{where}.{op}")
        elif op in ("in", "not_in"):
            if not isinstance(operand, list) or not operand:
                raise self.fail(f"{where}.{op}", "expected a non-empty list")
            operand = tuple(self.operand(spec, v, f"{where}.{op}") for v in operand)
        elif op == "is":
            operand = self.operand(spec, operand, f"{where}.is")
        test = FactTest(fact=fact, op=op, operand=operand, reason=reason)
        assert facts_named(test) == {fact}  # noqa: S101 - an invariant of FactTest, not a check of input
        return test

    def operand(self, spec: FactSpec, value: Any, where: str) -> object:
        """A value a condition compares a fact with, typed as the fact is."""
        if spec.type == "bool":
            if not isinstance(value, bool):
                raise self.fail(where, f"fact {spec.name!r} is true or false, got {value!r}")
            return value
        if spec.type == "enum":
            if isinstance(value, bool):
                raise self.fail(
                    where,
                    f"fact {spec.name!r} is one of {', '.join(spec.values)}, got {value} "
                    "(a bare yes/no/true/false is read as true or false: write it in quotes)",
                )
            canonical = enum_value(spec, value) if isinstance(value, (str, int)) else None
            if canonical is None:
                raise self.fail(where, f"{value!r} is not a value of {spec.name} ({', '.join(spec.values)})")
            return canonical
        try:
            return coerce_fact(spec, value)
        except Exception as exc:  # noqa: BLE001 - reworded with the catalog path
            raise self.fail(where, str(exc)) from None

    def plans(self, raw: Any) -> PlanPolicy:
        where = "payment_plans"
        body = self.mapping(raw, where)
        self.only_keys(body, where, {"min_weekly", "min_weekly_percent", "max_weeks", "max_debt", "max_deferral_days"})

        def per_tier(key: str, convert: Callable[[Any, str], Any]) -> dict[Tier, Any]:
            table = self.mapping(self.required(body, key, where), f"{where}.{key}")
            values = {self.tier(t, f"{where}.{key}"): convert(v, f"{where}.{key}.{t}") for t, v in table.items()}
            self.monotonic(values, where, key)
            return values

        return PlanPolicy(
            min_weekly=self.amount(self.required(body, "min_weekly", where), f"{where}.min_weekly"),
            min_weekly_percent=self.amount(body.get("min_weekly_percent", 0), f"{where}.min_weekly_percent"),
            max_weeks=per_tier("max_weeks", self.whole),
            max_debt=per_tier("max_debt", self.amount),
            max_deferral_days=per_tier("max_deferral_days", self.whole) if "max_deferral_days" in body else {},
        )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: f"text {value!r}", bool: f"{value}"}.get(type(value), repr(value))
