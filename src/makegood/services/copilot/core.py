"""What the copilot shows an agent during a live chat, and how it logs the remedy they choose.

Pure logic over the engine (`makegood.policy`), the ledger and the customer store; the
HTTP layer lives in `makegood.desk`. The same trust rules as the bot's:

- authority comes from the signed-in user's role (`accounts.tier_for_role`), never from
  the request;
- company facts (membership, order value, history) come only from the customer store;
  the request may carry conversation facts only (those the catalog asks customers for);
- `log` re-derives the case and re-checks the chosen remedy server-side: a size or tier
  sent by the browser is never taken on trust.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from makegood.accounts import User, tier_for_role
from makegood.errors import CaseError, MakegoodError
from makegood.jsonable import to_jsonable
from makegood.policy import Case, Catalog, Option, Tier, check, options
from makegood.policy.check import parse_size
from makegood.policy.conditions import Missing
from makegood.policy.limits import cost_of, natural_size
from makegood.policy.model import SIZELESS_KINDS
from makegood.policy.options import OptionSet
from makegood.services.bootstrap import Services
from makegood.services.bot.case_facts import (
    ORDER_ID,
    CaseContext,
    OrderNotFound,
    build_case,
    opening_slots,
    parse_order_id,
    slots_to_ask,
)
from makegood.services.bot.fact_reading import parse_fact
from makegood.services.bot.phrasing import describe
from makegood.services.copilot.understanding import Parsed, Understanding

log_ = logging.getLogger(__name__)

MAX_TURNS = 200
MAX_TURN_CHARS = 5000
MAX_PARSED_TURNS = 50  # customer turns read for facts, latest first (bounds NLU calls on long chats)
MAX_LOGGED_TURNS = 50  # transcript kept in the ledger with a proposal
MIN_CONFIDENCE = 0.4
MAX_KEY = 1000  # idempotency keys longer than fit a ledger turn key are stored hashed
SPEAKERS = ("customer", "agent")
APPROVAL_TIERS = (Tier.PEER, Tier.SUPERVISOR, Tier.MANAGER)
CHANNEL = "copilot"

ORDER_QUESTION = "Could you give me the order number? It looks like MG-10421."
GENERIC_APOLOGY = "I'm sorry about this — let's put it right."
LISTEN_OPEN = "Thanks for getting in touch — could you tell me what happened?"
THANK = "Thank you for your patience — and for telling us."
AFFORD = "How much do you think you can afford each week?"
FAIR = "What do you think would be fair?"


class CopilotForbidden(MakegoodError):
    """The signed-in user's role may not propose remedies (reviewers, admins). HTTP 403."""


# -- requests --------------------------------------------------------------------------------------
def validate_turns(turns: Any) -> list[dict[str, str]]:
    """At most MAX_TURNS turns of {"speaker": "customer"|"agent", "text": str}; texts longer
    than MAX_TURN_CHARS are cut, not refused."""
    if turns is None:
        return []
    if isinstance(turns, (str, bytes, Mapping)) or not isinstance(turns, Sequence):
        raise CaseError("turns must be a list of {speaker, text}")
    if len(turns) > MAX_TURNS:
        raise CaseError(f"too many turns: {len(turns)} (at most {MAX_TURNS}); send the latest {MAX_TURNS}")
    clean: list[dict[str, str]] = []
    for n, turn in enumerate(turns, 1):
        if not isinstance(turn, Mapping):
            raise CaseError(f"turn {n} must be an object with speaker and text")
        speaker = turn.get("speaker")
        if speaker not in SPEAKERS:
            raise CaseError(f"turn {n}: speaker must be customer or agent, got {speaker!r}")
        text = turn.get("text")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise CaseError(f"turn {n}: text must be a string, got {type(text).__name__}")
        clean.append({"speaker": speaker, "text": text[:MAX_TURN_CHARS]})
    return clean


def _optional_id(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CaseError(f"{what} must be text, got {type(value).__name__}")
    text = value.strip().upper()
    if len(text) > 32:
        raise CaseError(f"{what} is too long ({len(text)} characters; at most 32)")
    return text or None


def _facts_mapping(facts: Any) -> dict[str, Any]:
    if facts is None:
        return {}
    if not isinstance(facts, Mapping):
        raise CaseError("facts must be an object of fact name to value")
    return {str(k): v for k, v in facts.items()}


@dataclass
class SuggestRequest:
    turns: list[dict[str, str]]
    agent: User
    customer_id: str | None = None
    order_id: str | None = None
    facts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.turns = validate_turns(self.turns)
        self.customer_id = _optional_id(self.customer_id, "customer id")
        self.order_id = _optional_id(self.order_id, "order id")
        self.facts = _facts_mapping(self.facts)


@dataclass
class LogRequest:
    conversation_id: str
    agent: User
    situation: str
    remedy: str
    order_id: str | None = None
    customer_id: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    size: str | None = None  # None: the remedy's own size for this case
    customer_ask: dict | None = None
    transcript: list[dict[str, str]] = field(default_factory=list)
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        self.transcript = validate_turns(self.transcript)
        self.customer_id = _optional_id(self.customer_id, "customer id")
        self.order_id = _optional_id(self.order_id, "order id")
        self.facts = _facts_mapping(self.facts)
        if self.customer_ask is not None and not isinstance(self.customer_ask, Mapping):
            raise CaseError('customer_ask must be an object, e.g. {"remedy": "partial_refund", "size": "60"}')
        if self.idempotency_key is not None:
            key = str(self.idempotency_key).strip()
            if len(key) > MAX_KEY:
                raise CaseError(f"idempotency key is too long ({len(key)} characters; at most {MAX_KEY})")
            self.idempotency_key = key or None


def conversation_facts(catalog: Catalog, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The request's facts, checked: only conversation facts the copilot gathers. Company
    facts are refused (they come from the customer store), so is anything unknown."""
    for name in facts:
        spec = catalog.facts.get(name)
        if spec is not None and spec.source == "company":
            raise CaseError(f"{name} is known by the company; it is read from the customer store")
        if name in catalog.derived_facts():
            raise CaseError(f"{name} is worked out from the order; it is not taken from the conversation")
    taken = catalog.askable_facts()
    unknown = sorted(name for name in facts if name not in taken)
    if unknown:
        # Names come from the client: quote a few, shortened, so the message stays one readable line.
        named = ", ".join(repr(n[:40] + ("…" if len(n) > 40 else "")) for n in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise CaseError(
            f"unknown fact{'s' if len(unknown) > 1 else ''} {named}{more}; the copilot takes {', '.join(taken)}"
        )
    clean: dict[str, Any] = {}
    for name, value in facts.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        parse_fact(catalog.facts[name], value)  # a clear CaseError now rather than a vague one later
        clean[name] = value if isinstance(value, str) else str(value)
    return clean


def agent_tier(agent: User) -> Tier:
    tier = tier_for_role(agent.role)
    if tier is None or not agent.active:
        raise CopilotForbidden(
            "reviewers and admins do not propose remedies" if agent.active else f"{agent.name} is inactive"
        )
    return tier


# -- the case --------------------------------------------------------------------------------------
@dataclass
class _Found:
    ctx: CaseContext
    order_known: bool
    customer_known: bool
    notes: list[str]


def _case(
    services: Services,
    situation: str,
    order_id: str | None,
    customer_id: str | None,
    conversation: Mapping[str, Any],
    *,
    strict: bool,
) -> _Found:
    """Company facts from the store (by order, else by customer id), conversation facts as
    given. strict (log): an unknown order or customer, or none at all, is a CaseError;
    otherwise (suggest) a note, and the case is built without it."""
    catalog = services.catalog
    today = services.today()
    notes: list[str] = []
    slots = dict(conversation)
    if order_id:
        try:
            ctx = build_case(catalog, services.customers, situation, {**slots, "order_id": order_id}, today)
        except OrderNotFound as missing:
            if strict:
                raise
            notes.append(f"There is no order {missing.order_id}: check the number with the customer.")
        else:
            if customer_id and ctx.customer_id != customer_id:
                message = f"order {ctx.order_id} does not belong to customer {customer_id}"
                if strict:
                    raise CaseError(message)
                notes.append(
                    f"Order {ctx.order_id} belongs to another customer than {customer_id}: "
                    f"check the number with the customer."
                )
            else:
                return _Found(ctx, True, True, notes)
    if customer_id:
        known = services.customers.known_facts(
            customer_id, None, today=today, period_days=catalog.exception_period_days
        )
        if known:
            base = build_case(catalog, services.customers, situation, slots, today)
            facts = {k: v for k, v in known.items() if k in catalog.facts}
            facts.update({k: base.case.facts[k] for k in catalog.askable_facts() if base.case.facts.get(k) is not None})
            return _Found(CaseContext(Case.build(catalog, situation, facts), customer_id, None), False, True, notes)
        if strict:
            raise CaseError(f"no customer {customer_id}")
        notes.append(f"There is no customer {customer_id}.")
    if strict:
        raise CaseError("the copilot logs a remedy only for a known customer: give the order number or the customer id")
    return _Found(build_case(catalog, services.customers, situation, slots, today), False, False, notes)


# -- options as the panel shows them ---------------------------------------------------------------
def option_json(option: Option) -> dict[str, Any]:
    return {
        "remedy": option.remedy,
        "size": None if option.size is None else str(option.size),
        "kind": option.kind,
        "cost": str(option.cost),
        "required_tier": option.required_tier.value,
        "rule": option.rule,
        "cap_rule": option.cap_rule,
        "reduced_from": None if option.reduced_from is None else str(option.reduced_from),
        "text": describe(option),
    }


def needs_approval(found: OptionSet) -> dict[str, list[dict[str, Any]]]:
    """Options beyond the actor's authority, by the tier that could approve them."""
    grouped: dict[str, list[dict[str, Any]]] = {t.value: [] for t in APPROVAL_TIERS}
    for option in found.beyond:
        grouped.setdefault(option.required_tier.value, []).append(option_json(option))
    return grouped


# -- phrasing --------------------------------------------------------------------------------------
def _domain_dirs() -> list[Path]:
    from makegood.config import project_root

    here = Path(__file__).resolve()
    return [project_root() / "rasa_project" / "domain", here.parents[3] / "rasa_project" / "domain"]


@functools.lru_cache(maxsize=1)
def apologies() -> dict[str, str]:
    """utter_<situation>_apology, first variation, from the bot's domain files (read once)."""
    import yaml

    found: dict[str, str] = {}
    for directory in _domain_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                log_.warning("copilot: cannot read %s: %s", path, exc)
                continue
            for name, variations in (data.get("responses") or {}).items():
                if name.startswith("utter_") and name.endswith("_apology") and variations:
                    first = variations[0]
                    if isinstance(first, dict) and isinstance(first.get("text"), str):
                        found.setdefault(name[len("utter_") : -len("_apology")], first["text"])
        if found:
            break
    return found


def question_for(catalog: Catalog, situation: str | None, fact: str) -> str | None:
    """The question the agent could ask: the catalog's, as the bot asks it."""
    if fact == ORDER_ID:
        return ORDER_QUESTION
    return catalog.question(situation, fact) or None


def _who(tier: Tier) -> str:
    return {Tier.SUPERVISOR: "a supervisor", Tier.MANAGER: "a manager"}.get(tier, "a colleague")


def _phrasing(
    catalog: Catalog, case: Case, found: OptionSet, in_authority: list[dict], next_question: str | None
) -> dict[str, str | None]:
    situation = case.situation
    description = catalog.situation(situation).description
    listen = f"Thanks for explaining — let me make sure I have this right: {description}."
    apologize = apologies().get(situation, GENERIC_APOLOGY)
    if situation == "missed_payment" and case.get("debt_amount") is not None:
        solve = AFFORD  # the plan is built from their answer (makegood.policy.plan_for)
    elif found.ordinary:  # nothing is wrong (the catalog's ordinary_when): say why, offer nothing
        solve = f"Good news: {found.ordinary}."
    elif in_authority:
        solve = f"Right now I can offer {in_authority[0]['text']}."
        if found.ask_what_is_fair:
            solve += f" {FAIR}"
    elif next_question:
        solve = next_question
    elif found.handoff is not None:
        solve = (
            f"I'd like {_who(found.handoff.tier)} to look at this so it's done right. I'll pass it on with "
            f"everything you've told me, so you won't have to repeat yourself."
        )
    else:
        solve = None
    return {"listen": listen, "apologize": apologize, "solve": solve, "thank": THANK}


# -- suggest ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    situation: str | None
    confidence: float
    tier: str
    order_id: str | None = None
    customer_id: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # the case's facts, as the engine saw them
    # The conversation facts in `facts` (from the chat or the request): send these back to log().
    conversation_facts: dict[str, str] = field(default_factory=dict)
    in_authority: list[dict[str, Any]] = field(default_factory=list)  # best first
    needs_approval: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # peer/supervisor/manager
    blocked: list[dict[str, str]] = field(default_factory=list)  # remedy, rule, reason
    missing_facts: list[str] = field(default_factory=list)  # in the order to ask them
    handoff: dict[str, str] | None = None  # tier, reason: when nothing is in authority
    phrasing: dict[str, str | None] = field(default_factory=dict)  # listen, apologize, solve, thank
    next_question: str | None = None
    ask_what_is_fair: bool = False
    policy_version: str = ""
    rules_cited: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return self.missing_facts

    def as_json(self) -> dict[str, Any]:
        return to_jsonable(self)


class _Parses:
    """Customer turns, parsed on demand from the latest backwards (each at most once)."""

    def __init__(self, understanding: Understanding, turns: Sequence[Mapping[str, str]]) -> None:
        self.understanding = understanding
        texts = [t["text"] for t in turns if t["speaker"] == "customer" and t["text"].strip()]
        self.texts = list(reversed(texts))[:MAX_PARSED_TURNS]
        self._cache: dict[int, Parsed] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> Parsed:
        if i not in self._cache:
            self._cache[i] = self.understanding.parse(self.texts[i])
        return self._cache[i]


def _situation(catalog: Catalog, parses: _Parses) -> tuple[str | None, float]:
    for i in range(len(parses)):
        parsed = parses[i]
        if parsed.intent in catalog.situations and parsed.confidence >= MIN_CONFIDENCE:
            return parsed.intent, float(parsed.confidence)
    return None, 0.0


def _slots_from_entities(
    catalog: Catalog, situation: str, parses: _Parses, wanted: set[str], notes: list[str]
) -> dict[str, str]:
    """Latest mention first: order id and this situation's conversation facts, from the
    customer's messages. A value that does not parse is skipped with a note."""
    slots: dict[str, str] = {}
    for i in range(len(parses)):
        if wanted <= set(slots):
            break
        for slot, value in opening_slots(catalog, situation, parses[i].entities).items():
            if slot in wanted and slot not in slots and value not in (None, ""):
                try:
                    parse_order_id(value) if slot == ORDER_ID else parse_fact(catalog.facts[slot], value)
                except CaseError as exc:
                    notes.append(f"Ignored {slot.replace('_', ' ')} from the chat: {exc}")
                    continue
                slots[slot] = value
    return slots


def suggest(services: Services, understanding: Understanding, request: SuggestRequest) -> Suggestion:
    """What the agent may offer now, what needs approval, what to say, what to ask next.
    Reads the customer store once; writes nothing."""
    tier = agent_tier(request.agent)
    catalog = services.catalog
    given = conversation_facts(catalog, request.facts)
    parses = _Parses(understanding, request.turns)
    situation, confidence = _situation(catalog, parses)
    if situation is None:
        return Suggestion(
            situation=None,
            confidence=0.0,
            tier=tier.value,
            order_id=request.order_id,
            customer_id=request.customer_id,
            policy_version=catalog.version,
            needs_approval={t.value: [] for t in APPROVAL_TIERS},
            phrasing={"listen": LISTEN_OPEN, "apologize": None, "solve": None, "thank": THANK},
        )

    notes: list[str] = []
    asked = slots_to_ask(catalog, situation)
    if "order_id" not in asked:  # the bot may ask for it last; in a live chat it says whose account this is
        asked = [*asked, "order_id"]
    wanted = {s for s in asked if (s == "order_id" and not request.order_id) or (s != "order_id" and s not in given)}
    slots = _slots_from_entities(catalog, situation, parses, wanted, notes) if wanted else {}
    order_id = request.order_id or (slots.get(ORDER_ID) and parse_order_id(slots[ORDER_ID]))
    conversation = {k: v for k, v in slots.items() if k != "order_id"}
    conversation.update(given)

    found_case = _case(services, situation, order_id, request.customer_id, conversation, strict=False)
    ctx = found_case.ctx
    found = options(catalog, ctx.case, tier)

    missing: list[str] = []
    if not found_case.order_known:
        derived = catalog.derived_facts()
        company_gap = any(
            catalog.facts[f].source == "company" or f in derived for f in found.missing_facts if f in catalog.facts
        )
        if not found_case.customer_known or company_gap or order_id:
            missing.append("order_id")
        if not found_case.customer_known and found.offers:
            notes.append(
                "Until the order number is known these options assume a customer with no history; "
                "they are checked again when you log one."
            )
    engine_missing = [
        f
        for f in found.missing_facts
        if found_case.order_known
        or not (
            catalog.facts.get(f) is not None and (catalog.facts[f].source == "company" or f in catalog.derived_facts())
        )
    ]
    order = {slot: n for n, slot in enumerate(asked)}
    missing += sorted(engine_missing, key=lambda f: (order.get(f, len(order)), f))
    next_question = next((q for q in (question_for(catalog, situation, f) for f in missing) if q), None)

    in_authority = [option_json(o) for o in found.offers]
    return Suggestion(
        situation=situation,
        confidence=confidence,
        tier=tier.value,
        order_id=ctx.order_id,
        customer_id=ctx.customer_id,
        facts=to_jsonable(ctx.case.as_json()),
        conversation_facts={
            k: str(to_jsonable(ctx.case.facts[k])) for k in catalog.askable_facts() if ctx.case.facts.get(k) is not None
        },
        in_authority=in_authority,
        needs_approval=needs_approval(found),
        blocked=[{"remedy": b.remedy, "rule": b.rule, "reason": b.reason} for b in found.blocked],
        missing_facts=missing,
        handoff=None
        if found.offers or found.ordinary or found.handoff is None
        else {"tier": found.handoff.tier.value, "reason": found.handoff.reason},
        phrasing=_phrasing(catalog, ctx.case, found, in_authority, next_question),
        next_question=next_question,
        ask_what_is_fair=bool(found.ask_what_is_fair),
        policy_version=catalog.version,
        rules_cited=list(found.rules_cited),
        notes=found_case.notes + notes + ([f"not an exception: {found.ordinary}"] if found.ordinary else []),
    )


# -- log -------------------------------------------------------------------------------------------
def _earlier_log(services: Services, request: LogRequest):
    size: Any = None
    if not request.idempotency_key:
        remedy = services.catalog.remedies.get(request.remedy)
        if remedy is None:
            return None  # the check below names the unknown remedy
        if remedy.kind in SIZELESS_KINDS and request.size is None:
            return services.ledger.find(request.conversation_id, _turn_key(request, None))  # no size to work out
        if request.size is None:
            return None  # keyed by the size the check would work out: nothing to look up yet
        try:
            size = parse_size(services.catalog, request.remedy, request.size)
        except CaseError:
            return None  # the check below says what is wrong with it
    return services.ledger.find(request.conversation_id, _turn_key(request, size))


def _turn_key(request: LogRequest, size: Any) -> str:
    if request.idempotency_key:
        key = request.idempotency_key
        if len(key) > 100:
            key = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return f"copilot:{key}"
    material = json.dumps([request.remedy, None if size is None else str(size), request.situation, request.order_id])
    return "copilot:" + hashlib.sha256(material.encode("utf-8")).hexdigest()


def log(services: Services, request: LogRequest):
    """Log the remedy the agent chose, after checking it again here: within the agent's
    authority -> "accepted"; needing a higher tier -> "pending" at that tier (for peer, the
    agent counts as the first of the two); outside policy or missing facts -> CaseError.
    Idempotent on the idempotency key (else on remedy, size, situation and order)."""
    from makegood.ledger import ProposalIn

    # A retry returns what the first call stored, before anything is re-judged: the first
    # call's own grant must not count against its retry.
    earlier = _earlier_log(services, request)
    if earlier is not None:
        return earlier
    tier = agent_tier(request.agent)
    catalog = services.catalog
    situation_spec = catalog.situation(str(request.situation or ""))  # CaseError naming the known ones
    situation = situation_spec.id
    conversation = conversation_facts(catalog, request.facts)
    ctx = _case(services, situation, request.order_id, request.customer_id, conversation, strict=True).ctx
    verdict = check(catalog, ctx.case, request.remedy, request.size, tier)
    if verdict.status == "allowed":
        status, required = "accepted", verdict.required_tier
    elif verdict.status == "needs_tier":
        status, required = "pending", verdict.required_tier
    elif verdict.status == "needs_facts":
        raise CaseError(f"{verdict.reason}: {', '.join(verdict.missing_facts)}")
    else:
        raise CaseError(verdict.reason)

    rule = next(r for r in situation_spec.remedies if r.id == verdict.rules[0])
    kind = catalog.remedies[rule.remedy].kind
    size = verdict.size if verdict.size is not None else natural_size(rule, ctx.case.facts, kind)
    if isinstance(size, Missing) or required is None:  # cannot happen: check() asked for the facts, named the tier
        raise CaseError(verdict.reason)
    chosen = Option(
        remedy=rule.remedy,
        kind=kind,
        size=size,
        cost=cost_of(catalog, rule, size),
        required_tier=required,
        rule=rule.id,
        cap_rule=verdict.rules[-1],
        policy_version=catalog.version,
    )
    option_chosen = {**option_json(chosen), "counts_as_exception": bool(rule.counts_as_exception)}
    offered = options(catalog, ctx.case, tier)
    proposal = services.ledger.log_proposal(
        ProposalIn(
            conversation_id=request.conversation_id,
            turn_key=_turn_key(request, size),
            channel=CHANNEL,
            situation=situation,
            customer_id=ctx.customer_id,
            order_id=ctx.order_id,
            facts=to_jsonable(ctx.case.as_json()),
            options_offered=[option_json(o) for o in offered.offers],
            option_chosen=option_chosen,
            customer_ask=to_jsonable(dict(request.customer_ask)) if request.customer_ask else None,
            context={
                "transcript": request.transcript[-MAX_LOGGED_TURNS:],
                "rules_cited": list(dict.fromkeys(list(offered.rules_cited) + list(verdict.rules))),
                "customer_ask": to_jsonable(dict(request.customer_ask)) if request.customer_ask else None,
                "reason": verdict.reason,
            },
            policy_version=catalog.version,
            tier_required=required.value,
            requested_by=request.agent.name,
            status=status,
        )
    )
    return proposal  # accepted: the ledger's grant guard recorded it in the customer's history
