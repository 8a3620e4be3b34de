"""The bot's moves in a case, Listen-Apologize-Solve-Thank. Each returns a `Reply`: what to say
(response names from the domain, with values), slots to set, and whether to pause for a human.

The bot's authority is `BOT_TIER`, fixed here. It is never read from the conversation.
Every proposal the bot makes, accepts or escalates is written to the ledger.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping, Optional, Sequence

from makegood.assistant.case_facts import CaseContext, OrderNotFound, build_case, gave_up
from makegood.assistant.phrasing import describe, describe_plan, params
from makegood.services.bootstrap import Services
from makegood.errors import CaseError, LimitReached
from makegood.jsonable import to_jsonable
from makegood.money import fmt
from makegood.nlp import Entity
from makegood.policy import Option, Tier, judge_ask, options, plan_for
from makegood.policy.options import OptionSet

log = logging.getLogger(__name__)

BOT_TIER = Tier.SELF_SERVICE
MENU_SIZE = 3  # offers shown at once: enough choice, short enough to read in a chat bubble


@dataclass(frozen=True)
class Say:
    response: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    says: list[Say] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    pause: bool = False
    proposal_id: Optional[str] = None

    def say(self, response: str, **values: Any) -> "Reply":
        self.says.append(Say(response, values))
        return self


@dataclass(frozen=True)
class Turn:
    """What the bot knows of the conversation at this turn, read from the tracker."""

    conversation_id: str
    channel: str
    situation: Optional[str]
    slots: Mapping[str, Any]
    stage: Optional[str]
    text: str
    entities: Sequence[Entity]
    user_turns: int
    transcript: Sequence[Mapping[str, str]] = ()
    session: str = ""  # which session of this sender (a restart starts a new one)

    def key(self, move: str) -> str:
        """The ledger's idempotency key for this move at this turn of this session."""
        return f"{move}:{self.session}:{self.user_turns}" if self.session else f"{move}:{self.user_turns}"

    def owns(self, proposal: Any) -> bool:
        """Was `proposal` logged in this session (not a case from before a restart)?"""
        return not self.session or f":{self.session}:" in str(getattr(proposal, "turn_key", ""))


class Assistant:
    def __init__(self, services: Services):
        self.s = services

    # -- Solve: the first offer ------------------------------------------------------------------
    def propose(self, turn: Turn) -> Reply:
        if not turn.situation:
            return Reply().say("utter_how_can_i_help")
        try:
            ctx = self._case(turn)
        except OrderNotFound as missing:
            return Reply(slots={"order_id": None}).say("utter_order_not_found", order_id=missing.order_id)
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        if gave_up(turn.slots.get("fact_misses")) and (found.missing_facts or not ctx.order_id):
            # They tried and we could not use what they gave: a person takes it from here, with
            # everything said so far (never a loop of the same question).
            what = "an order number we could find" if not ctx.order_id else ", ".join(found.missing_facts)
            return self._handoff(turn, ctx, found, reason=f"the customer could not give {what}",
                                 previous=self._open_proposal(turn))
        if turn.situation == "missed_payment" and ctx.case.facts.get("debt_amount") is not None:
            proposal = self._log(turn, ctx, found, status="offered", key="propose",
                                 context={"menu": [], "asked": "affordability"})
            return Reply(slots={"stage": "asked_afford"}, proposal_id=proposal.public_id).say("utter_ask_affordability")
        if not found.offers:
            return self._handoff(turn, ctx, found, reason=found.handoff.reason if found.handoff else "no option fits",
                                 previous=self._open_proposal(turn))
        menu = list(found.offers[:MENU_SIZE])
        proposal = self._log(turn, ctx, found, status="offered", key="propose", context={"menu": _menu_json(menu)})
        reply = Reply(slots={"stage": "offered"}, proposal_id=proposal.public_id).say("utter_offer_intro")
        self._say_menu(reply, menu)
        reply.say("utter_ask_choice")
        if found.ask_what_is_fair:
            reply.say("utter_ask_what_is_fair")
        return reply

    # -- the customer picks ------------------------------------------------------------------------
    def accept(self, turn: Turn) -> Reply:
        proposal = self._open_proposal(turn)
        if proposal is None:
            # A case in progress with nothing offered yet (e.g. the order number came outside the
            # form): make the offer now rather than claim there is no case.
            return self.propose(turn) if turn.situation and turn.stage not in ("resolved", "handed_off") \
                else Reply().say("utter_nothing_open")
        menu = (proposal.context or {}).get("menu") or []
        if not menu:
            return Reply().say("utter_ask_affordability" if turn.stage == "asked_afford" else "utter_how_can_i_help")
        index = pick(turn.text, menu)
        if index is None and len(menu) == 1:
            index = 0
        if index is None:
            return Reply().say("utter_ask_which_option")
        chosen = menu[index]
        try:
            self.s.ledger.update_proposal(proposal.public_id, option_chosen=chosen, status="accepted")
        except LimitReached as limit:
            return self.handoff(turn, reason=f"limit reached: {limit}")
        return (Reply(slots={"stage": "resolved"}, proposal_id=proposal.public_id)
                .say("utter_resolution_confirmed", option=chosen["text"], proposal_id=proposal.public_id)
                .say("utter_thank_customer"))

    # -- "What do you think would be fair?" --------------------------------------------------------
    def judge(self, turn: Turn, amount: Optional[str], percent: Optional[str]) -> Reply:
        if not turn.situation:
            return Reply().say("utter_nothing_open")
        if amount is None and percent is None:
            return Reply().say("utter_amount_not_understood")
        try:
            ctx = self._case(turn)
        except OrderNotFound as missing:
            return Reply(slots={"order_id": None}).say("utter_order_not_found", order_id=missing.order_id)
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        try:
            result = judge_ask(self.s.catalog, ctx.case, BOT_TIER, amount=amount, percent=percent)
        except CaseError:
            # Negative, not a number, or beyond any case ("$2,000,000"): a plain answer, and the
            # offers still stand, so the customer can pick one or name another figure.
            return self._out_of_range(turn, ctx, found)
        ask = {"remedy": result.remedy, "size": str(result.asked)}
        if result.verdict == "accept":
            option = result.accepted
            item = _menu_json([option])[0]
            try:
                proposal = self._log(turn, ctx, found, status="accepted", key="fair-ask", chosen=item, ask=ask,
                                     context={"menu": [item]})
            except LimitReached as limit:
                return self._handoff(turn, ctx, found, reason=f"limit reached: {limit}", ask=ask,
                                     previous=self._open_proposal(turn))
            return (Reply(slots={"stage": "resolved"}, proposal_id=proposal.public_id)
                    .say("utter_resolution_confirmed", option=item["text"], proposal_id=proposal.public_id)
                    .say("utter_thank_customer"))
        previous = self._open_proposal(turn)
        if previous is not None and (previous.context or {}).get("declined_ask"):
            # They asked beyond authority before and still do: a person takes it from here.
            return self._handoff(turn, ctx, found, reason=f"customer insists on {fmt(result.asked)}", ask=ask,
                                 previous=previous,
                                 tier=result.needs_tier)
        menu = ([result.counter] if result.counter else []) + list(result.alternatives)
        menu = menu[:MENU_SIZE]
        if not menu:
            return self._handoff(turn, ctx, found, reason="nothing in the bot's authority fits", ask=ask,
                                 previous=previous,
                                 tier=result.needs_tier)
        proposal = self._log(turn, ctx, found, status="offered", key="fair-ask", ask=ask,
                             context={"menu": _menu_json(menu), "declined_ask": ask,
                                      "ask_needs_tier": result.needs_tier.value if result.needs_tier else None})
        reply = Reply(slots={"stage": "offered"}, proposal_id=proposal.public_id)
        reply.say("utter_beyond_authority", asked=fmt(result.asked))
        self._say_menu(reply, menu)
        reply.say("utter_alternatives_outro")
        return reply

    # -- "How much can you afford each week?" -----------------------------------------------------
    def plan(self, turn: Turn, weekly: Optional[str]) -> Reply:
        if turn.situation != "missed_payment":
            return Reply().say("utter_nothing_open") if not turn.situation else self.accept(turn)
        if weekly is None:
            return Reply().say("utter_amount_not_understood")
        try:
            ctx = self._case(turn)
        except OrderNotFound as missing:
            return Reply(slots={"order_id": None}).say("utter_order_not_found", order_id=missing.order_id)
        debt = ctx.case.facts.get("debt_amount")
        if debt is None:
            return Reply().say("utter_ask_debt_amount")
        result = plan_for(self.s.catalog, debt, weekly, BOT_TIER)
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        ask = {"remedy": "payment_plan", "weekly": str(result.asked_weekly)}
        if result.status == "accepted":
            item = _plan_json(result.plan)
            proposal = self._log(turn, ctx, found, status="offered", key="plan", ask=ask, context={"menu": [item]})
            p = result.plan
            return (Reply(slots={"stage": "offered"}, proposal_id=proposal.public_id)
                    .say("utter_plan_accepted", weekly=fmt(p.weekly), weeks=p.weeks, final=fmt(p.final_payment)))
        menu = [_plan_json(p) for p in result.alternatives[:MENU_SIZE]]
        if not menu:  # no plan the bot may offer (e.g. a balance above its limit): a person decides
            return self._handoff(turn, ctx, found, reason=f"no payment plan in the bot's authority fits a "
                                 f"balance of {fmt(debt)} at {fmt(result.asked_weekly)} a week", ask=ask,
                                 previous=self._open_proposal(turn),
                                 tier=result.approval.required_tier if result.approval else None)
        context = {"menu": menu, "declined_ask": ask,
                   "ask_needs_tier": result.approval.required_tier.value if result.approval else None}
        proposal = self._log(turn, ctx, found, status="offered", key="plan", ask=ask, context=context)
        reply = Reply(slots={"stage": "offered"}, proposal_id=proposal.public_id)
        reply.say("utter_plan_counter", weekly=fmt(result.asked_weekly))
        for n, item in enumerate(menu, 1):
            reply.say("utter_plan_option", n=n, plan=item["text"])
        if result.approval:
            reply.say("utter_plan_needs_approval", weekly=fmt(result.asked_weekly))
        reply.say("utter_ask_choice")
        return reply

    def _out_of_range(self, turn: Turn, ctx: CaseContext, found: OptionSet) -> Reply:
        value = ctx.case.facts.get("order_value")
        plain = (Say("utter_ask_out_of_range", {"order_value": fmt(Decimal(str(value)))}) if value is not None
                 else Say("utter_amount_not_understood"))
        # With nothing on the table yet, put the offers there, so the answer is never only a no.
        reply = self.propose(turn) if self._open_proposal(turn) is None and found.offers else Reply()
        reply.says.insert(0, plain)
        return reply

    # -- "no" --------------------------------------------------------------------------------------
    def decline(self, turn: Turn) -> Reply:
        proposal = self._open_proposal(turn)
        if proposal is None:
            return Reply().say("utter_how_can_i_help")
        if turn.stage == "alternatives_offered" or (proposal.context or {}).get("alternatives_shown"):
            return self.handoff(turn, reason="customer declined the alternatives")
        try:
            ctx = self._case(turn)
        except (OrderNotFound, CaseError):
            return self.handoff(turn, reason="customer declined the offer")
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        shown = {(m.get("remedy"), m.get("size")) for m in (proposal.context or {}).get("menu", [])}
        rest = [o for o in found.offers if (o.remedy, str(o.size)) not in shown]
        if not rest:
            return self.handoff(turn, reason="customer declined every option in the bot's authority")
        menu = rest[:MENU_SIZE]
        self.s.ledger.update_proposal(proposal.public_id, context_patch={
            "menu": _menu_json(menu), "alternatives_shown": True,
            "declined": (proposal.context or {}).get("menu", [])})
        reply = Reply(slots={"stage": "alternatives_offered"}, proposal_id=proposal.public_id)
        reply.say("utter_alternatives_intro")
        self._say_menu(reply, menu)
        reply.say("utter_alternatives_outro")
        return reply

    # -- a person takes over ----------------------------------------------------------------------
    def handoff(self, turn: Turn, reason: str = "customer asked for a person") -> Reply:
        ctx: Optional[CaseContext] = None
        found: Optional[OptionSet] = None
        if turn.situation:
            try:
                ctx = self._case(turn)
                found = options(self.s.catalog, ctx.case, BOT_TIER)
            except (OrderNotFound, CaseError):
                ctx = None
        previous = self._open_proposal(turn)
        ask = (previous.context or {}).get("declined_ask") if previous else None
        tier = None
        if previous and (previous.context or {}).get("ask_needs_tier"):
            tier = Tier((previous.context or {})["ask_needs_tier"])
        return self._handoff(turn, ctx, found, reason=reason, ask=ask, tier=tier, previous=previous)

    def _handoff(self, turn: Turn, ctx: Optional[CaseContext], found: Optional[OptionSet], *, reason: str,
                 previous, ask: Optional[dict] = None, tier: Optional[Tier] = None) -> Reply:
        """`previous`: the conversation's open proposal, which every caller has already read."""
        target = tier or (found.handoff.tier if found and found.handoff else None) or self.s.catalog.handoff_tier
        target = max(target, Tier.AGENT)  # a handoff always reaches a person
        packet = {
            "reason": reason,
            "transcript": list(turn.transcript)[-30:],
            "offered": (previous.context or {}).get("menu", []) if previous else [],
            "declined": (previous.context or {}).get("declined", []) if previous else [],
            "customer_ask": ask,
            "rules_cited": list(found.rules_cited) if found else [],
            "missing_facts": list(found.missing_facts) if found else [],
            "replaces": previous.public_id if previous else None,
        }
        proposal = self._log(turn, ctx, found, status="pending", key="handoff", ask=ask, context=packet,
                             tier_required=target, chosen=ask)
        return (Reply(slots={"stage": "handed_off"}, pause=True, proposal_id=proposal.public_id)
                .say("utter_handoff", proposal_id=proposal.public_id))

    # -- helpers ---------------------------------------------------------------------------------
    def _case(self, turn: Turn) -> CaseContext:
        return build_case(self.s.catalog, self.s.customers, turn.situation, turn.slots, self.s.today())

    def _open_proposal(self, turn: Turn):
        for proposal in self.s.ledger.list(conversation_id=turn.conversation_id, limit=5):
            if proposal.status == "offered" and turn.owns(proposal):
                return proposal
        return None

    def _say_menu(self, reply: Reply, menu: Sequence[Option]) -> None:
        for n, option in enumerate(menu, 1):
            reply.say(f"utter_offer_{option.remedy}", n=n, **params(option))

    def _log(self, turn: Turn, ctx: Optional[CaseContext], found: Optional[OptionSet], *, status: str, key: str,
             context: dict, chosen: Optional[dict] = None, ask: Optional[dict] = None,
             tier_required: Tier = BOT_TIER):
        from makegood.ledger import ProposalIn

        proposal = ProposalIn(
            conversation_id=turn.conversation_id,
            turn_key=turn.key(key),
            channel=turn.channel,
            situation=turn.situation or "unknown",
            customer_id=ctx.customer_id if ctx else None,
            order_id=ctx.order_id if ctx else turn.slots.get("order_id"),
            facts=ctx.case.as_json() if ctx else {},
            options_offered=[o.as_json() for o in found.offers] if found else [],
            option_chosen=chosen,
            customer_ask=ask,
            context=to_jsonable(context),
            policy_version=self.s.catalog.version,
            tier_required=tier_required.value,
            requested_by="bot",
            status=status,
        )
        return self.s.ledger.log_proposal(proposal)


def _menu_json(menu: Sequence[Option]) -> list[dict]:
    return [{**o.as_json(), "text": describe(o)} for o in menu]


def _plan_json(plan) -> dict:
    return {**plan.as_json(), "remedy": "payment_plan", "size": str(plan.weekly), "text": describe_plan(plan)}


_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "two": 1, "third": 2, "3rd": 2, "three": 2,
             "last": -1}
_KEYWORDS = {
    "full_refund": ("full refund", "full", "refund", "money back", "my card", "original payment", "all of it"),
    "partial_refund": ("partial", "refund", "money back", "cash", "my card", "original payment", "back to my"),
    "store_credit": ("store credit", "credit"),
    "service_credit": ("credit", "subscription credit", "account credit"),
    "fee_waiver": ("waive", "waiver", "fee"),
    "replacement": ("replacement", "replace", "new one", "another one", "send it again", "resend", "exchange",
                    "swap", "right size", "right one", "correct one"),
    "shipping_upgrade": ("shipping", "express"),
    "return_window_extension": ("extend", "extension", "window", "return", "reopen"),
    "payment_deferral": ("defer", "postpone", "later", "move", "due date", "more time"),
    "goodwill_voucher": ("voucher", "coupon"),
    "keep_item": ("keep",),
    "prepaid_return": ("label", "send it back", "return"),
    "payment_plan": ("plan", "weekly"),
}
_AMOUNT = re.compile(r"(?<![\w.])\$?(\d{1,6}(?:\.\d{1,2})?)(?![\w%])")


def pick(text: str, menu: Sequence[Mapping[str, Any]]) -> Optional[int]:
    """Which menu item the customer means: a number, an ordinal, the amount of one offer
    ("I'll take the 25"), or words naming the remedy — the item they name most clearly; None
    when two items are named equally (the bot then asks which)."""
    lowered = (text or "").lower()[:500]
    number = re.search(r"(?<![\d$.\-−])([1-9])(?![\d.%])", lowered)
    if number and int(number.group(1)) <= len(menu) and "$" not in lowered:
        return int(number.group(1)) - 1
    for word, index in _ORDINALS.items():
        if re.search(rf"\b{re.escape(word)}\b", lowered):
            return index if index >= 0 else len(menu) - 1
    amounts = {Decimal(a) for a in _AMOUNT.findall(lowered)}
    by_amount = [i for i, item in enumerate(menu) if _size_of(item) in amounts]
    if len(by_amount) == 1:
        return by_amount[0]
    scores = [sum(1 for k in _KEYWORDS.get(str(item.get("remedy")), ()) if k in lowered) for item in menu]
    best = max(scores, default=0)
    if best == 0 or scores.count(best) > 1:
        return None
    return scores.index(best)


def _size_of(item: Mapping[str, Any]) -> Optional[Decimal]:
    try:
        return Decimal(str(item.get("size"))) if item.get("size") not in (None, "") else None
    except ArithmeticError:
        return None
