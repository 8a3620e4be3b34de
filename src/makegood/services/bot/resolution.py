"""The bot's moves in a case, Listen-Apologize-Solve-Thank. Each returns a `Reply`: what to say
(response names from the domain, with values), slots to set, and whether to pause for a human.

The bot's authority is `BOT_TIER`, fixed here. It is never read from the conversation.
Every proposal the bot makes, accepts or escalates is written to the ledger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from makegood.customers.scoped import ScopedCustomers, SignInRequired
from makegood.errors import CaseError, LimitReached
from makegood.jsonable import to_jsonable
from makegood.money import fmt, to_money
from makegood.nlp import Entity, extract
from makegood.policy import Option, Tier, judge_ask, options, plan_for
from makegood.policy.options import OptionSet
from makegood.services.bootstrap import Services
from makegood.services.bot.case_facts import (
    CaseContext,
    OrderNotFound,
    SignInNeeded,
    build_case,
    gave_up,
    opening_slots,
    order_in_text,
)
from makegood.services.bot.fact_reading import sums_in
from makegood.services.bot.phrasing import describe, describe_plan, params
from makegood.services.bot.reading import ASKED_AS, Reading, demanded_sums, read_reply, refused_remedies

log = logging.getLogger(__name__)

BOT_TIER = Tier.SELF_SERVICE
MENU_SIZE = 3  # offers shown at once: enough choice, short enough to read in a chat bubble


@dataclass(frozen=True)
class Say:
    response: str
    params: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""  # words from the catalog (a fact's question) instead of a domain response
    fallback: str = ""  # what to say if the domain has no such response (a remedy new to the catalog)


@dataclass
class Reply:
    says: list[Say] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    pause: bool = False
    proposal_id: str | None = None

    def say(self, response: str, **values: Any) -> Reply:
        self.says.append(Say(response, values))
        return self

    def say_text(self, text: str) -> Reply:
        self.says.append(Say("", {}, text))
        return self


@dataclass(frozen=True)
class Turn:
    """What the bot knows of the conversation at this turn, read from the tracker."""

    conversation_id: str
    channel: str
    situation: str | None
    slots: Mapping[str, Any]
    stage: str | None
    text: str
    entities: Sequence[Entity]
    user_turns: int
    transcript: Sequence[Mapping[str, str]] = ()
    session: str = ""  # which session of this sender (a restart starts a new one)
    customer_id: str | None = None  # whose chat: bound by a signed token (None: anonymous)

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
            return _order_missing(missing)
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        if found.ordinary:
            # Nothing is wrong (an order not late yet, a return inside its window): say why, and
            # close the case rather than hand a person something with no exception in it.
            return Reply(slots={"situation": None, "stage": None}).say("utter_not_an_exception", reason=found.ordinary)
        if gave_up(turn.slots.get("fact_misses")) and (found.missing_facts or not ctx.order_id):
            # They tried and we could not use what they gave: a person takes it from here, with
            # everything said so far (never a loop of the same question).
            what = "an order number we could find" if not ctx.order_id else ", ".join(found.missing_facts)
            return self._handoff(
                turn, ctx, found, reason=f"the customer could not give {what}", previous=self._open_proposal(turn)
            )
        if turn.situation == "missed_payment" and ctx.case.facts.get("debt_amount") is not None:
            proposal = self._log(
                turn, ctx, found, status="offered", key="propose", context={"menu": [], "asked": "affordability"}
            )
            return Reply(slots={"stage": "asked_afford"}, proposal_id=proposal.public_id).say("utter_ask_affordability")
        if not found.offers:
            return self._handoff(
                turn,
                ctx,
                found,
                reason=found.handoff.reason if found.handoff else "no option fits",
                previous=self._open_proposal(turn),
            )
        previous = self._open_proposal(turn)
        shown = (
            ((previous.context or {}).get("menu") or []) if previous and previous.situation == turn.situation else []
        )
        if shown:
            # The same problem told again with a choice in it ("an exchange for the right size
            # please" read as wrong_item): answer the offer on the table, do not offer it again.
            reading = self.read(turn, shown)
            if reading.kind in ("pick", "asks_other", "asks_amount"):
                return self._answer(turn, previous, shown, reading)
        menu = distinct(found.offers)
        demand = self._opening_demand(turn, ctx, menu) if previous is None else None
        if demand is not None and demand.kind == "asks_amount":
            return self.judge(turn, str(demand.amount), None)
        proposal = self._log(turn, ctx, found, status="offered", key="propose", context={"menu": _menu_json(menu)})
        if demand is not None and demand.kind == "asks_other" and demand.remedy:
            return self.ask_other(turn, demand.remedy, proposal)
        reply = Reply(slots={"stage": "offered"}, proposal_id=proposal.public_id).say("utter_offer_intro")
        self._say_menu(reply, menu)
        reply.say("utter_ask_choice")
        if found.ask_what_is_fair:
            reply.say("utter_ask_what_is_fair")
        return reply

    # -- which of two situations: the order can tell ----------------------------------------------
    def which_fits(self, turn: Turn, candidates: Sequence[str]) -> str | None:
        """Of two situations the words could not tell apart, the only one the customer's order
        makes possible (a parcel not yet delivered cannot be a late return), or None."""
        fits = []
        for situation in candidates:
            slots = opening_slots(self.s.catalog, situation, turn.entities, turn.text)
            if not slots.get("order_id"):
                return None
            try:
                case = self._case(replace(turn, situation=situation, slots=slots)).case
            except (OrderNotFound, CaseError):
                return None
            anyone = options(self.s.catalog, case, max(Tier))
            # A fact the customer could still tell us keeps a situation possible; one the order
            # should know and does not (days past the return window of an undelivered parcel)
            # rules it out.
            askable = all(f in self.s.catalog.asked_facts(situation) for f in anyone.missing_facts)
            if anyone.offers or anyone.beyond or (anyone.missing_facts and askable):
                fits.append(situation)
        return fits[0] if len(fits) == 1 else None

    # -- the customer answers an offer -------------------------------------------------------------
    def accept(self, turn: Turn) -> Reply:
        """A yes, a pick, or anything else said to the offers: read against what is on the table."""
        proposal = self._open_proposal(turn)
        if proposal is None:
            # A case in progress with nothing offered yet (e.g. the order number came outside the
            # form): make the offer now rather than claim there is no case.
            return (
                self.propose(turn)
                if turn.situation and turn.stage not in ("resolved", "handed_off")
                else Reply().say("utter_nothing_open")
            )
        if (proposal.context or {}).get("awaiting_account"):
            return self.account_given(turn, proposal)
        menu = (proposal.context or {}).get("menu") or []
        if not menu:
            return Reply().say("utter_ask_affordability" if turn.stage == "asked_afford" else "utter_how_can_i_help")
        reading = self.read(turn, menu)
        if reading.kind == "unclear" and len(menu) == 1:
            reading = Reading("pick", index=0)
        return self._answer(turn, proposal, menu, reading)

    def read(self, turn: Turn, menu: Sequence[Mapping[str, Any]]) -> Reading:
        return read_reply(turn.text, menu, sums_in(turn.text, turn.entities))

    def _opening_demand(self, turn: Turn, ctx: CaseContext, menu: Sequence[Option]) -> Reading | None:
        """A demand in the message that opened the case ("I want all 1249 back", "I want the
        whole month refunded"), read against the offers: answered now, never forgotten. An
        amount that is one of the case's facts (the disputed charge) is not a demand."""
        opening = str(turn.slots.get("case_opening") or "")
        if not opening or not _ASKING.search(opening.lower()):
            return None
        told = set()  # the sums they told us as facts (the disputed charge), which are not asks
        money = [f for f in self.s.catalog.askable_facts() if self.s.catalog.facts[f].type == "money"]
        for slot in money:
            try:
                told.add(Decimal(str(turn.slots.get(slot))))
            except ArithmeticError:
                continue
        sums = [a for a in demanded_sums(opening, extract(opening)) if a not in told]
        reading = read_reply(opening, _menu_json(menu), sums)
        if reading.kind == "asks_amount" or (reading.kind == "asks_other" and reading.remedy in OPENING_DEMANDS):
            return reading
        return None

    def respond(self, turn: Turn) -> Reply | None:
        """A message the NLU could not place, read against the open offer; None when it is
        not a reply to it either (the caller then asks the customer to say more)."""
        proposal = self._open_proposal(turn)
        menu = ((proposal.context or {}).get("menu") or []) if proposal else []
        if not menu:
            return None
        reading = self.read(turn, menu)
        return None if reading.kind == "unclear" else self._answer(turn, proposal, menu, reading)

    def _answer(self, turn: Turn, proposal, menu: Sequence[Mapping[str, Any]], reading: Reading) -> Reply:
        if reading.kind == "asks_amount":
            return self.judge(turn, str(reading.amount), None)
        if reading.kind == "asks_other" and reading.remedy:
            return self.ask_other(turn, reading.remedy, proposal)
        if reading.kind == "declines":
            return self.decline(turn, read=False)
        if reading.kind != "pick" or reading.index is None:
            return Reply().say("utter_ask_which_option")
        return self._grant(turn, proposal, dict(menu[reading.index]))

    def _grant(self, turn: Turn, proposal, chosen: dict) -> Reply:
        if not proposal.customer_id:
            # Whose account? Nothing is granted to nobody: a remedy counts against a customer's
            # limits, so the bot asks for the order number before it says "done".
            self.s.ledger.update_proposal(proposal.public_id, context_patch={"awaiting_account": chosen})
            return Reply(slots={"stage": "awaiting_account"}, proposal_id=proposal.public_id).say(
                "utter_ask_order_for_grant"
            )
        try:
            self.s.ledger.update_proposal(proposal.public_id, option_chosen=chosen, status="accepted")
        except LimitReached as limit:
            return self.handoff(turn, reason=f"limit reached: {limit}")
        return _confirmed(proposal.public_id, chosen)

    def account_given(self, turn: Turn, proposal) -> Reply:
        """The order number asked for before granting: the choice is recorded on that
        customer's account (a new proposal that replaces the anonymous one), limits checked."""
        chosen = (proposal.context or {}).get("awaiting_account") or {}
        order = next((e.value for e in turn.entities if e.entity == "order_id"), None) or order_in_text(turn.text)
        if not order:
            return Reply().say("utter_ask_order_for_grant")
        try:
            ctx = self._case(replace(turn, slots={**turn.slots, "order_id": order}))
        except SignInNeeded as missing:
            return _order_missing(missing)
        except (OrderNotFound, CaseError):
            misses = int(float(turn.slots.get("fact_misses") or 0)) + 1
            if gave_up(misses):
                return self.handoff(
                    turn, reason=f"the customer could not give an order number we could find (tried {order})"
                )
            return Reply(slots={"fact_misses": float(misses)}).say("utter_order_not_found", order_id=order)
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        try:
            granted = self._log(
                turn,
                ctx,
                found,
                status="accepted",
                key="grant",
                chosen=chosen,
                context={**(proposal.context or {}), "awaiting_account": None, "replaces": proposal.public_id},
            )
        except LimitReached as limit:
            return self.handoff(turn, reason=f"limit reached: {limit}")
        reply = _confirmed(granted.public_id, chosen)
        reply.slots["order_id"] = ctx.order_id
        return reply

    # -- a remedy the bot did not offer ("I want it replaced") ------------------------------------
    def ask_other(self, turn: Turn, remedy: str, proposal) -> Reply:
        try:
            ctx = self._case(turn)
        except (OrderNotFound, CaseError):
            return self.handoff(turn, reason=f"customer asks for {remedy}")
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        mine = next((o for o in found.offers if o.remedy == remedy), None)
        if mine is not None:  # within the bot's authority, just not among the offers shown
            return self._grant(turn, proposal, _menu_json([mine])[0])
        ask = {"remedy": remedy}
        needs = self._tier_for(ctx, remedy)
        if (proposal.context or {}).get("declined_ask"):
            return self._handoff(
                turn, ctx, found, reason=f"customer insists on {remedy}", ask=ask, previous=proposal, tier=needs
            )
        refused = refused_remedies(turn.text)
        menu = distinct(o for o in found.offers if o.remedy not in refused)
        if not menu:
            return self._handoff(
                turn,
                ctx,
                found,
                reason=f"customer asks for {remedy}; nothing else in the bot's authority fits",
                ask=ask,
                previous=proposal,
                tier=needs,
            )
        self.s.ledger.update_proposal(
            proposal.public_id,
            context_patch={
                "menu": _menu_json(menu),
                "declined_ask": ask,
                "ask_needs_tier": needs.value if needs else None,
                "declined": (proposal.context or {}).get("menu", []),
            },
        )
        reply = Reply(slots={"stage": "offered"}, proposal_id=proposal.public_id)
        reply.say("utter_beyond_authority", asked=ASKED_AS.get(remedy, remedy.replace("_", " ").capitalize()))
        self._say_menu(reply, menu)
        reply.say("utter_alternatives_outro")
        return reply

    def _tier_for(self, ctx: CaseContext, remedy: str) -> Tier | None:
        """The lowest tier that may give `remedy` in this case, or None if nobody may."""
        for tier in sorted(t for t in Tier if t > BOT_TIER):
            if any(o.remedy == remedy for o in options(self.s.catalog, ctx.case, tier).offers):
                return tier
        return None

    # -- "What do you think would be fair?" --------------------------------------------------------
    def judge(self, turn: Turn, amount: str | None, percent: str | None) -> Reply:
        if not turn.situation:
            return Reply().say("utter_nothing_open")
        if amount is None and percent is None:
            # "no, a refund, not credit" reads like an ask but names no sum: read it as a reply.
            return self.respond(turn) or Reply().say("utter_amount_not_understood")
        try:
            ctx = self._case(turn)
        except OrderNotFound as missing:
            return _order_missing(missing)
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        try:
            result = judge_ask(self.s.catalog, ctx.case, BOT_TIER, amount=amount, percent=percent)
        except CaseError:
            # Negative, not a number, or beyond any case ("$2,000,000"): a plain answer, and the
            # offers still stand, so the customer can pick one or name another figure.
            return self._out_of_range(turn, ctx, found)
        ask = {"remedy": result.remedy, "size": str(result.asked)}
        if result.verdict == "accept" and result.accepted is not None:
            option = result.accepted
            item = _menu_json([option])[0]
            if not ctx.customer_id:
                pending = self._log(
                    turn, ctx, found, status="offered", key="fair-ask", ask=ask, context={"menu": [item]}
                )
                return self._grant(turn, pending, item)
            try:
                proposal = self._log(
                    turn, ctx, found, status="accepted", key="fair-ask", chosen=item, ask=ask, context={"menu": [item]}
                )
            except LimitReached as limit:
                return self._handoff(
                    turn, ctx, found, reason=f"limit reached: {limit}", ask=ask, previous=self._open_proposal(turn)
                )
            return _confirmed(proposal.public_id, item)
        previous = self._open_proposal(turn)
        if previous is not None and (previous.context or {}).get("declined_ask"):
            # They asked beyond authority before and still do: a person takes it from here.
            return self._handoff(
                turn,
                ctx,
                found,
                reason=f"customer insists on {fmt(result.asked)}",
                ask=ask,
                previous=previous,
                tier=result.needs_tier,
            )
        menu = distinct(([result.counter] if result.counter else []) + list(result.alternatives))
        if not menu:
            return self._handoff(
                turn,
                ctx,
                found,
                reason="nothing in the bot's authority fits",
                ask=ask,
                previous=previous,
                tier=result.needs_tier,
            )
        proposal = self._log(
            turn,
            ctx,
            found,
            status="offered",
            key="fair-ask",
            ask=ask,
            context={
                "menu": _menu_json(menu),
                "declined_ask": ask,
                "ask_needs_tier": result.needs_tier.value if result.needs_tier else None,
            },
        )
        reply = Reply(slots={"stage": "offered"}, proposal_id=proposal.public_id)
        reply.say("utter_beyond_authority", asked=fmt(result.asked))
        self._say_menu(reply, menu)
        reply.say("utter_alternatives_outro")
        return reply

    # -- "How much can you afford each week?" -----------------------------------------------------
    def plan(self, turn: Turn, weekly: str | None) -> Reply:
        if turn.situation != "missed_payment":
            return Reply().say("utter_nothing_open") if not turn.situation else self.accept(turn)
        if weekly is None:
            return self.respond(turn) or Reply().say("utter_amount_not_understood")
        try:
            ctx = self._case(turn)
        except OrderNotFound as missing:
            return _order_missing(missing)
        debt = ctx.case.facts.get("debt_amount")
        if debt is None:
            return Reply().say_text(self.s.catalog.question(turn.situation, "debt_amount"))
        result = plan_for(self.s.catalog, debt, weekly, BOT_TIER)
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        ask = {"remedy": "payment_plan", "weekly": str(result.asked_weekly)}
        if result.status == "accepted" and result.plan is not None:
            item = _plan_json(result.plan)
            proposal = self._log(turn, ctx, found, status="offered", key="plan", ask=ask, context={"menu": [item]})
            p = result.plan
            return Reply(slots={"stage": "offered"}, proposal_id=proposal.public_id).say(
                "utter_plan_accepted", weekly=fmt(p.weekly), weeks=p.weeks, final=fmt(p.final_payment)
            )
        menu = [_plan_json(p) for p in result.alternatives[:MENU_SIZE]]
        if not menu:  # no plan the bot may offer (e.g. a balance above its limit): a person decides
            return self._handoff(
                turn,
                ctx,
                found,
                reason=f"no payment plan in the bot's authority fits a "
                f"balance of {fmt(to_money(debt, 'the balance'))} at {fmt(result.asked_weekly)} a week",
                ask=ask,
                previous=self._open_proposal(turn),
                tier=result.approval.required_tier if result.approval else None,
            )
        context = {
            "menu": menu,
            "declined_ask": ask,
            "ask_needs_tier": result.approval.required_tier.value if result.approval else None,
        }
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
        plain = (
            Say("utter_ask_out_of_range", {"order_value": fmt(Decimal(str(value)))})
            if value is not None
            else Say("utter_amount_not_understood")
        )
        # With nothing on the table yet, put the offers there, so the answer is never only a no.
        reply = self.propose(turn) if self._open_proposal(turn) is None and found.offers else Reply()
        reply.says.insert(0, plain)
        return reply

    # -- "no" --------------------------------------------------------------------------------------
    def decline(self, turn: Turn, read: bool = True) -> Reply:
        proposal = self._open_proposal(turn)
        if proposal is None:
            return Reply().say("utter_how_can_i_help")
        menu = (proposal.context or {}).get("menu") or []
        if read and menu:
            # "no, the refund is fine", "no, a refund, not credit": a no that names what they want.
            reading = self.read(turn, menu)
            if reading.kind in ("pick", "asks_other", "asks_amount"):
                return self._answer(turn, proposal, menu, reading)
        context = proposal.context or {}
        # A no to alternatives, or to what was offered instead of an ask beyond the bot's
        # authority ("If none of these is right, say so and I'll pass your case on"): a person.
        if turn.stage == "alternatives_offered" or context.get("alternatives_shown") or context.get("declined_ask"):
            return self.handoff(turn, reason="customer declined the alternatives")
        try:
            ctx = self._case(turn)
        except (OrderNotFound, CaseError):
            return self.handoff(turn, reason="customer declined the offer")
        found = options(self.s.catalog, ctx.case, BOT_TIER)
        shown = {(m.get("remedy"), m.get("size")) for m in (proposal.context or {}).get("menu", [])}
        refused = refused_remedies(turn.text)
        menu = distinct(o for o in found.offers if (o.remedy, str(o.size)) not in shown and o.remedy not in refused)
        if not menu:
            return self.handoff(turn, reason="customer declined every option in the bot's authority")
        self.s.ledger.update_proposal(
            proposal.public_id,
            context_patch={
                "menu": _menu_json(menu),
                "alternatives_shown": True,
                "declined": (proposal.context or {}).get("menu", []),
            },
        )
        reply = Reply(slots={"stage": "alternatives_offered"}, proposal_id=proposal.public_id)
        reply.say("utter_alternatives_intro")
        self._say_menu(reply, menu)
        reply.say("utter_alternatives_outro")
        return reply

    # -- a person takes over ----------------------------------------------------------------------
    def handoff(self, turn: Turn, reason: str = "customer asked for a person") -> Reply:
        ctx: CaseContext | None = None
        found: OptionSet | None = None
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

    def _handoff(
        self,
        turn: Turn,
        ctx: CaseContext | None,
        found: OptionSet | None,
        *,
        reason: str,
        previous,
        ask: dict | None = None,
        tier: Tier | None = None,
    ) -> Reply:
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
        proposal = self._log(
            turn, ctx, found, status="pending", key="handoff", ask=ask, context=packet, tier_required=target, chosen=ask
        )
        if getattr(self.s, "conversations", None) is not None:  # the desk's live inbox: a person picks it up
            self.s.conversations.hand_over(
                turn.conversation_id, proposal_id=proposal.public_id, reason=reason, customer_id=proposal.customer_id
            )
        return Reply(slots={"stage": "handed_off"}, pause=True, proposal_id=proposal.public_id).say(
            "utter_handoff", proposal_id=proposal.public_id
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _case(self, turn: Turn) -> CaseContext:
        if not turn.situation:
            raise CaseError("no case is open")
        return build_case(
            self.s.catalog,
            self.customers(turn),
            turn.situation,
            turn.slots,
            self.s.today(),
            customer_id=turn.customer_id,
        )

    def order_owner(self, turn: Turn, order_id: str):
        """The customer of `order_id` if this chat may see it, else None; SignInNeeded when no
        customer is signed in to the chat."""
        try:
            return self.customers(turn).find_customer_by_order(order_id)
        except SignInRequired:
            raise SignInNeeded(order_id) from None

    def customers(self, turn: Turn) -> ScopedCustomers:
        """The store as this chat may see it: its own customer's orders only."""
        return ScopedCustomers(
            self.s.customers, turn.customer_id, mode=self.s.chat_identity, conversation=turn.conversation_id
        )

    def _open_proposal(self, turn: Turn):
        for proposal in self.s.ledger.list(conversation_id=turn.conversation_id, limit=5):
            if proposal.status == "offered" and turn.owns(proposal):
                return proposal
        return None

    def _say_menu(self, reply: Reply, menu: Sequence[Option]) -> None:
        for n, option in enumerate(menu, 1):
            reply.say(f"utter_offer_{option.remedy}", n=n, **params(option))
            words = describe(option, self.s.catalog.remedies[option.remedy].description)
            reply.says[-1] = replace(reply.says[-1], fallback=f"{n}. {words[:1].upper()}{words[1:]}.")

    def _log(
        self,
        turn: Turn,
        ctx: CaseContext | None,
        found: OptionSet | None,
        *,
        status: str,
        key: str,
        context: dict,
        chosen: dict | None = None,
        ask: dict | None = None,
        tier_required: Tier = BOT_TIER,
    ):
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


def _order_missing(missing: OrderNotFound) -> Reply:
    """Not on this chat's account, or no account to look on: never a word about whose it is."""
    if isinstance(missing, SignInNeeded):
        return Reply(slots={"order_id": None}).say("utter_sign_in_for_orders")
    return Reply(slots={"order_id": None}).say("utter_order_not_found", order_id=missing.order_id)


def _confirmed(reference: str, chosen: Mapping[str, Any]) -> Reply:
    return (
        Reply(slots={"stage": "resolved"}, proposal_id=reference)
        .say("utter_resolution_confirmed", option=chosen["text"], proposal_id=reference)
        .say("utter_thank_customer")
    )


# What a first message can demand before anything is offered. Other remedy words in it are
# usually the problem itself ("I'd like to return the sweater" is a late return, not an ask
# for a return label).
OPENING_DEMANDS = frozenset({"full_refund", "partial_refund", "replacement"})
_ASKING = re.compile(r"\b(?:want|need|expect|demand|give me|i'?d like|please|send|can i|could you|refund|back)\b")


def distinct(offers: Iterable[Option], size: int = MENU_SIZE) -> list[Option]:
    """The offers to show: one per remedy (the catalog's first, its preferred), at most `size`.
    Two credits of different sizes side by side are not a choice, and "the credit" would not
    say which."""
    menu: list[Option] = []
    for option in offers:
        if all(o.remedy != option.remedy for o in menu):
            menu.append(option)
    return menu[:size]


def _menu_json(menu: Sequence[Option]) -> list[dict]:
    return [{**o.as_json(), "text": describe(o)} for o in menu]


def _plan_json(plan) -> dict:
    return {**plan.as_json(), "remedy": "payment_plan", "size": str(plan.weekly), "text": describe_plan(plan)}
