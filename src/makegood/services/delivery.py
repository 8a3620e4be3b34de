"""Who tells the customer about a decision on a request made in a live chat, what they say, and
that it was said.

    tellings = pending_tellings(services, "web-1a2b")        # decided, not told yet: for the live page
    deliver(services, "web-1a2b", "P-7K2M", "alice", text, say=rasa_say)

The rules:

- **Approved** (a peer's co-signature or a supervisor's approval): the agent who owns the chat now
  tells the customer. Sending the message marks the proposal delivered (`context.delivered_by`,
  as the queue's "delivered to customer" button does).
- **Rejected by a supervisor**: that supervisor tells the customer themselves, in the chat, with
  what the owning agent can offer instead — never a bare no. It is the one message a supervisor
  may write into a chat they do not own; it is recorded as `context.denial_delivered_by`.
- **Rejected by an agent** (a peer said no): the owner tells, with the same alternatives.

The checks are made here, server-side; the desk only shows what they allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import update

from makegood.db import session_factory, unit_of_work
from makegood.errors import DecisionConflict, LedgerError
from makegood.money import fmt
from makegood.policy.tiers import Tier
from makegood.services.bootstrap import Services
from makegood.services.conversations import (
    Conversation,
    ConversationError,
    Message,
    NoSuchConversation,
    NotTheOwner,
    clean_text,
    live_conversations,
    live_messages,
)

APPROVED = "approved"
REJECTED = "rejected"
SUPERVISOR = "supervisor"
MAX_ALTERNATIVES = 3
OWNER_TIER = Tier.AGENT  # alternatives are what the owning agent may give without asking anyone
TOLD_KEYS = {APPROVED: ("delivered_by", "delivered_at"), REJECTED: ("denial_delivered_by", "denial_delivered_at")}
QUEUE_READ = 500


class NotYoursToTell(NotTheOwner):
    """Someone else tells the customer about this decision. HTTP 403."""


class AlreadyTold(ConversationError):
    """The customer was already told about this decision. HTTP 409."""


class NoSuchRequest(NoSuchConversation):
    """No proposal has this id. HTTP 404."""


class NothingToTell(ConversationError):
    """The proposal is not decided, or not a request of this conversation. HTTP 400."""


@dataclass(frozen=True)
class Telling:
    """A decision the customer has to hear about, and who says it."""

    proposal_id: str
    conversation_id: str
    outcome: str  # approved | rejected
    decided_by: str
    decided_role: str
    teller: str | None  # None: nobody is in the chat to say it (it is waiting, or back with the bot)
    what: str  # the request, in the customer's words
    alternatives: list[str] = field(default_factory=list)  # rejected: what the owner may offer instead
    wording: str = ""  # the message the teller starts from
    version: int = 0


@dataclass(frozen=True)
class Delivered:
    telling: Telling
    message: Message


def same_person(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and str(a).strip().casefold() == str(b).strip().casefold()


def shown_name(name: str) -> str:
    return name[:1].upper() + name[1:]


def told(p: Any) -> str | None:
    """Who already told the customer about `p`'s outcome, if anyone."""
    keys = TOLD_KEYS.get(p.status)
    return (p.context or {}).get(keys[0]) if keys else None


def deciding(p: Any) -> Any | None:
    """The decision that made `p` approved or rejected (the latest one of that kind)."""
    wanted = ("approve", "cosign") if p.status == APPROVED else ("reject",) if p.status == REJECTED else ()
    return next((d for d in reversed(p.decisions or []) if d.decision in wanted), None)


def teller_of(p: Any, decision: Any, conversation: Conversation | None) -> str | None:
    owner = conversation.owner if conversation is not None and conversation.state == "claimed" else None
    if p.status == REJECTED and decision.role == SUPERVISOR:
        return decision.actor
    return owner


# -- the words --------------------------------------------------------------------------------------
def words(option: Any) -> str:
    """An option (or an ask) as the customer reads it: its own text, else its remedy and size."""
    if not isinstance(option, Mapping):
        return "your request"
    if isinstance(option.get("text"), str) and option["text"].strip():
        return option["text"].strip()
    remedy = str(option.get("remedy") or "your request").replace("_", " ")
    size = option.get("size")
    if size in (None, ""):
        return remedy
    if option.get("kind") == "days":
        return f"{remedy} ({size} days)"
    try:
        return f"{remedy} of {fmt(Decimal(str(size)))}"
    except (InvalidOperation, ValueError):
        return f"{remedy} ({size})"


def _within_owner(option: Mapping[str, Any]) -> bool:
    try:
        return Tier(str(option.get("required_tier") or "agent")) <= OWNER_TIER
    except ValueError:
        return False


def alternatives(p: Any) -> list[str]:
    """What the owner can offer instead of the refused request: the engine's in-authority options
    for this case, logged with the request (the copilot's at the agent's tier, the bot's menu), one
    per remedy, the refused one left out."""
    chosen = p.option_chosen if isinstance(p.option_chosen, Mapping) else {}
    refused = (chosen.get("remedy"), str(chosen.get("size")))
    candidates: Iterable[Any] = [*(p.options_offered or []), *((p.context or {}).get("offered") or [])]
    seen: set[str] = set()
    found: list[str] = []
    for option in candidates:
        if not isinstance(option, Mapping) or not option.get("remedy") or not _within_owner(option):
            continue
        if (option["remedy"], str(option.get("size"))) == refused or option["remedy"] in seen:
            continue
        seen.add(option["remedy"])
        found.append(words(option))
    return found[:MAX_ALTERNATIVES]


def _wording(p: Any, decision: Any, teller: str | None, owner: str | None, what: str, instead: list[str]) -> str:
    if p.status == APPROVED:
        return f"Good news: my colleague has approved {what}. You don't need to do anything else for it."
    opener = (
        f"I'm {shown_name(decision.actor)}, a supervisor here. I've looked at your request for {what}"
        if decision.role == SUPERVISOR
        else f"I've asked a colleague about {what}"
    )
    no = "I can't approve it" if decision.role == SUPERVISOR else "we can't approve it"
    helper = shown_name(owner) if owner and not same_person(owner, teller) else "I"
    if instead:
        return (
            f"{opener}, and I'm sorry: {no}. What {helper} can do for you instead: "
            f"{'; or '.join(instead)}. Just say which you'd prefer."
        )
    stays = "I'll stay with you" if helper == "I" else f"{helper} stays with you"
    return f"{opener}, and I'm sorry: {no}. {stays} here to find another way to put this right."


def telling_of(p: Any, conversation: Conversation | None) -> Telling | None:
    """The telling `p` needs, or None: not decided, or already told."""
    decision = deciding(p)
    if decision is None or told(p):
        return None
    teller = teller_of(p, decision, conversation)
    owner = conversation.owner if conversation is not None and conversation.state == "claimed" else None
    what = words(p.option_chosen or p.customer_ask)
    instead = alternatives(p) if p.status == REJECTED else []
    return Telling(
        proposal_id=p.public_id,
        conversation_id=p.conversation_id,
        outcome=p.status,
        decided_by=decision.actor,
        decided_role=decision.role,
        teller=teller,
        what=what,
        alternatives=instead,
        wording=_wording(p, decision, teller, owner, what, instead),
        version=p.version,
    )


# -- reading ----------------------------------------------------------------------------------------
def pending_tellings(services: Services, conversation_id: str, proposals: Sequence[Any] | None = None) -> list[Telling]:
    """The decisions on this conversation's requests the customer has not been told, oldest first.
    `proposals`: the conversation's proposals, newest first, when the caller has read them already."""
    conversation = services.conversations.find(conversation_id)
    if proposals is None:
        proposals = services.ledger.list(conversation_id=conversation_id, limit=50)
    found = [telling_of(p, conversation) for p in proposals if p.status in (APPROVED, REJECTED)]
    return [t for t in reversed(found) if t is not None]


def denials_to_deliver(services: Services, supervisor: str, rejected: Sequence[Any] | None = None) -> list[Any]:
    """Rejected proposals `supervisor` refused in a live chat and has not told the customer yet."""
    store = services.conversations
    if store is None:
        return []
    if rejected is None:
        rejected = services.ledger.list(status=REJECTED, limit=QUEUE_READ)
    out = []
    for p in rejected:
        decision = deciding(p)
        if decision is None or decision.role != SUPERVISOR or not same_person(decision.actor, supervisor) or told(p):
            continue
        if store.find(p.conversation_id) is not None:
            out.append(p)
    return out


def chat_to_tell(services: Services, p: Any, person: str) -> str | None:
    """The live conversation where `person` tells the customer about `p`, if it is theirs to tell."""
    store = services.conversations
    conversation = store.find(p.conversation_id) if store is not None else None
    if conversation is None:
        return None
    telling = telling_of(p, conversation)
    return conversation.conversation_id if telling is not None and same_person(telling.teller, person) else None


# -- telling ----------------------------------------------------------------------------------------
def _refusal(telling: Telling, person: str) -> str:
    if telling.outcome == REJECTED and telling.decided_role == SUPERVISOR:
        return (
            f"{telling.proposal_id} was rejected by {telling.decided_by}; only they tell the customer, "
            f"with what can be offered instead"
        )
    if telling.teller is None:
        return f"take the chat first: the agent who owns it tells the customer about {telling.proposal_id}"
    return f"{telling.teller} owns this chat, so they tell the customer about {telling.proposal_id}, not {person}"


def check_teller(services: Services, conversation_id: str, public_id: str, person: str) -> Telling:
    """The telling of `public_id` in this chat, if `person` is the one to say it. NothingToTell,
    AlreadyTold or NotYoursToTell otherwise."""
    try:
        p = services.ledger.get(public_id)
    except LedgerError as exc:  # the only refusal of a read: no such proposal
        raise NoSuchRequest(str(exc)) from None
    if p.conversation_id != conversation_id:
        raise NothingToTell(f"{p.public_id} was not asked in conversation {conversation_id}")
    conversation = services.conversations.get(conversation_id)
    if told(p):
        raise AlreadyTold(f"the customer was already told about {p.public_id} (by {told(p)})")
    telling = telling_of(p, conversation)
    if telling is None:
        raise NothingToTell(f"{p.public_id} is {p.status}: there is no decision to tell the customer yet")
    if not same_person(telling.teller, person):
        raise NotYoursToTell(_refusal(telling, person))
    return telling


def deliver(
    services: Services,
    conversation_id: str,
    public_id: str,
    person: str,
    text: Any,
    *,
    say: Callable[[str], None],
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> Delivered:
    """Tell the customer: `say(text)` puts it in the chat (Rasa's transcript), then the proposal is
    marked told and the message stored for the customer's push. `say` comes first and nothing is
    written before it, so when it fails nothing is recorded (the same order as the live inbox)."""
    text = clean_text(text)
    telling = check_teller(services, conversation_id, public_id, person)
    say(text)
    by_key, at_key = TOLD_KEYS[telling.outcome]
    stamp = now().isoformat(timespec="seconds")
    try:
        services.ledger.update_proposal(
            telling.proposal_id,
            context_patch={by_key: person, at_key: stamp, "told_in": conversation_id},
            expected_version=telling.version,
        )
    except DecisionConflict:
        raise AlreadyTold(
            f"{telling.proposal_id} changed a moment ago (someone else may have told the customer); reload the chat"
        ) from None
    owner = services.conversations.get(conversation_id)
    if owner.state == "claimed" and same_person(owner.owner, person):
        message = services.conversations.add_message(conversation_id, person, text)
    else:
        message = _store_denial(services, conversation_id, person, text, now())
    return Delivered(telling, message)


def _store_denial(services: Services, conversation_id: str, author: str, text: str, at: datetime) -> Message:
    """The rejecting supervisor's message, stored for the customer's push. LiveConversations lets
    only the owner write; the check above is what allows this one message, so it is written here."""
    engine = services.conversations.engine
    with unit_of_work(session_factory(engine)) as s:
        new_id = s.execute(
            live_messages.insert().values(
                conversation_id=conversation_id, kind="agent", author=author, text=text, created_at=at
            )
        ).inserted_primary_key[0]
        c = live_conversations
        s.execute(update(c).where(c.c.conversation_id == conversation_id).values(updated_at=at))
    return Message(int(new_id), conversation_id, "agent", author, text, at)
