"""Live conversations: a chat the bot handed over, the one person who picked it up, and what the
desk wrote into it.

    conversations = LiveConversations(engine)
    conversations.hand_over("web-1a2b", proposal_id="P-7K2M", reason="customer asked for a person")
    conversations.claim("web-1a2b", "alice")          # ClaimConflict if someone was quicker
    conversations.add_message("web-1a2b", "alice", "Hi, I'm Alice …")   # NotTheOwner otherwise
    conversations.release("web-1a2b", "alice")        # back to the bot

The state lives in the database every process shares (migration 0005_live_conversations), so
the actions server records a handover, any desk process sees it, and a customer's chat page
served by another desk process is pushed the same messages. Racing claims are settled by the
database: a conditional UPDATE (`… WHERE state = 'waiting'`) that only one of them can match, on
SQLite and PostgreSQL alike.

Rasa's tracker stays the transcript; this store only knows who owns the conversation and the
messages the desk pushed into it (so the customer's page can be sent them in order).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text, select, update
from sqlalchemy.engine import Engine

from makegood.db import UTCDateTime, metadata, session_factory, unit_of_work
from makegood.errors import MakegoodError

STATES = ("waiting", "claimed", "released")
KINDS = ("agent", "bot")
MAX_MESSAGE = 2000  # the customer's own limit (desk/chat.py): what one side may say, the other may too
MAX_REASON = 500
NAME_LENGTH = 40  # accounts.users.name


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


live_conversations = Table(
    "live_conversations",
    metadata,
    Column("conversation_id", String(128), primary_key=True),  # Rasa's sender id
    Column("state", String(16), nullable=False),
    Column("customer_id", String(32), nullable=True),
    Column("handoff_proposal_id", String(16), nullable=True),  # the ledger's public id
    Column("reason", Text, nullable=False),
    Column("owner", String(NAME_LENGTH), nullable=True),
    Column("handovers", Integer, nullable=False),
    Column("handed_over_at", UTCDateTime(), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=True),
    Column("released_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("state", STATES), name="state"),
    Index("ix_live_conversations_state", "state", "handed_over_at"),
    Index("ix_live_conversations_owner", "owner"),
)

live_messages = Table(
    "live_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(128), ForeignKey("live_conversations.conversation_id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("author", String(NAME_LENGTH), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("kind", KINDS), name="kind"),
    Index("ix_live_messages_conversation_id", "conversation_id", "id"),
)


class ConversationError(MakegoodError):
    """A live-conversation operation was refused; the message says why."""


class NoSuchConversation(ConversationError):
    """No handed-over conversation has this id."""


class ClaimConflict(ConversationError):
    """Someone else owns the conversation already (or it is back with the bot)."""


class NotTheOwner(ConversationError):
    """Only the agent who claimed the conversation may write in it or hand it back."""


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    state: str
    customer_id: str | None
    handoff_proposal_id: str | None
    reason: str
    owner: str | None
    handovers: int
    handed_over_at: datetime
    claimed_at: datetime | None
    released_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: str
    kind: str  # "agent" (a person wrote it) | "bot" (the desk said it on the bot's behalf)
    author: str
    text: str
    created_at: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


def clean_text(text: object) -> str:
    """The message as it may be sent: non-empty, at most MAX_MESSAGE characters. ConversationError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ConversationError("the message must be non-empty text")
    text = text.strip()
    if len(text) > MAX_MESSAGE:
        raise ConversationError(f"the message is too long ({len(text)} characters; at most {MAX_MESSAGE})")
    return text


class LiveConversations:
    """The live-conversation store over one engine (the ledger's). Every method is blocking."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self._write = session_factory(engine)
        self._read = session_factory(engine, read_only=True)
        self._now = now

    # -- the bot's side ---------------------------------------------------------------------------
    def hand_over(
        self, conversation_id: str, *, proposal_id: str | None, reason: str, customer_id: str | None = None
    ) -> Conversation:
        """Record that a person should pick this conversation up. Idempotent: a conversation that
        is already waiting or owned stays as it is (the packet of a later handoff is in the
        ledger); one that was handed back to the bot waits again, owned by nobody."""
        t = live_conversations
        now = self._now()
        reason = (reason or "").strip()[:MAX_REASON] or "handed over"
        with unit_of_work(self._write) as s:
            row = s.execute(self._locked(s, conversation_id)).mappings().first()
            if row is None:
                s.execute(
                    t.insert().values(
                        conversation_id=conversation_id,
                        state="waiting",
                        customer_id=customer_id,
                        handoff_proposal_id=proposal_id,
                        reason=reason,
                        owner=None,
                        handovers=1,
                        handed_over_at=now,
                        updated_at=now,
                    )
                )
            elif row["state"] == "released":
                s.execute(
                    update(t)
                    .where(t.c.conversation_id == conversation_id, t.c.state == "released")
                    .values(
                        state="waiting",
                        owner=None,
                        customer_id=customer_id or row["customer_id"],
                        handoff_proposal_id=proposal_id,
                        reason=reason,
                        handovers=t.c.handovers + 1,
                        handed_over_at=now,
                        claimed_at=None,
                        updated_at=now,
                    )
                )
            return self._get(s, conversation_id)

    # -- the desk's side --------------------------------------------------------------------------
    def claim(self, conversation_id: str, agent: str) -> Conversation:
        """Make `agent` the one owner. The UPDATE matches only a waiting conversation, so of two
        racing claims the database lets exactly one change the row; the other gets ClaimConflict."""
        t = live_conversations
        now = self._now()
        with unit_of_work(self._write) as s:
            won = s.execute(
                update(t)
                .where(t.c.conversation_id == conversation_id, t.c.state == "waiting")
                .values(state="claimed", owner=agent, claimed_at=now, updated_at=now)
            ).rowcount
            current = self._get(s, conversation_id)
        if won != 1:
            if current.state == "claimed":
                who = "you already" if current.owner == agent else f"{current.owner} already"
                raise ClaimConflict(f"conversation {conversation_id} is taken: {who} claimed it")
            raise ClaimConflict(f"conversation {conversation_id} is back with the bot; nobody needs to claim it")
        return current

    def unclaim(self, conversation_id: str, agent: str) -> None:
        """Undo `agent`'s claim (the intro could not be delivered): waiting again, for anyone."""
        t = live_conversations
        with unit_of_work(self._write) as s:
            s.execute(
                update(t)
                .where(t.c.conversation_id == conversation_id, t.c.state == "claimed", t.c.owner == agent)
                .values(state="waiting", owner=None, claimed_at=None, updated_at=self._now())
            )

    def check_owner(self, conversation_id: str, agent: str) -> Conversation:
        """The conversation, if `agent` owns it; NotTheOwner otherwise."""
        current = self.get(conversation_id)
        if current.state != "claimed" or current.owner != agent:
            if current.state == "claimed":
                raise NotTheOwner(
                    f"conversation {conversation_id} belongs to {current.owner}; only they can write in it"
                )
            raise NotTheOwner(f"claim conversation {conversation_id} before writing in it (it is {current.state})")
        return current

    def add_message(self, conversation_id: str, author: str, text: str, *, kind: str = "agent") -> Message:
        """Store a message the desk delivered into the conversation (for the customer's push).
        An agent's message needs the agent to own the conversation, checked in the same
        transaction; the desk's own lines (`kind="bot"`) do not."""
        if kind not in KINDS:
            raise ConversationError(f"unknown message kind {kind!r}")
        text = clean_text(text)
        c = live_conversations
        now = self._now()
        with unit_of_work(self._write) as s:
            row = s.execute(self._locked(s, conversation_id)).mappings().first()
            if row is None:
                raise NoSuchConversation(f"no handed-over conversation {conversation_id}")
            if kind == "agent" and (row["state"] != "claimed" or row["owner"] != author):
                raise NotTheOwner(f"only the agent who claimed conversation {conversation_id} can write in it")
            new_id = s.execute(
                live_messages.insert().values(
                    conversation_id=conversation_id, kind=kind, author=author, text=text, created_at=now
                )
            ).inserted_primary_key[0]
            s.execute(update(c).where(c.c.conversation_id == conversation_id).values(updated_at=now))
        return Message(int(new_id), conversation_id, kind, author, text, now)

    def release(self, conversation_id: str, agent: str) -> Conversation:
        """Hand the conversation back to the bot. Only its owner may; NotTheOwner otherwise."""
        t = live_conversations
        now = self._now()
        with unit_of_work(self._write) as s:
            done = s.execute(
                update(t)
                .where(t.c.conversation_id == conversation_id, t.c.state == "claimed", t.c.owner == agent)
                .values(state="released", released_at=now, updated_at=now)
            ).rowcount
            current = self._get(s, conversation_id)
        if done != 1:
            raise NotTheOwner(f"only the agent who owns conversation {conversation_id} can hand it back")
        return current

    # -- reading ----------------------------------------------------------------------------------
    def get(self, conversation_id: str) -> Conversation:
        with unit_of_work(self._read) as s:
            return self._get(s, conversation_id)

    def find(self, conversation_id: str) -> Conversation | None:
        try:
            return self.get(conversation_id)
        except NoSuchConversation:
            return None

    def list(self, *, state: str = "all", agent: str | None = None, limit: int = 200) -> list[Conversation]:
        """`waiting` (oldest first: the longest wait is served first), `mine` (claimed by `agent`),
        `all` (waiting and claimed, oldest first; released ones are the bot's again)."""
        t = live_conversations
        query = select(t)
        if state == "waiting":
            query = query.where(t.c.state == "waiting")
        elif state == "mine":
            query = query.where(t.c.state == "claimed", t.c.owner == (agent or ""))
        elif state == "all":
            query = query.where(t.c.state.in_(("waiting", "claimed")))
        else:
            raise ConversationError(f"unknown state {state!r}: use waiting, mine or all")
        query = query.order_by(t.c.handed_over_at, t.c.conversation_id).limit(max(0, int(limit)))
        with unit_of_work(self._read) as s:
            return [Conversation(**row) for row in s.execute(query).mappings().all()]

    def messages_after(self, conversation_id: str, after_id: int = 0, limit: int = 100) -> builtins.list[Message]:
        """The desk's messages in this conversation with an id above `after_id`, in id order."""
        m = live_messages
        query = (
            select(m)
            .where(m.c.conversation_id == conversation_id, m.c.id > int(after_id))
            .order_by(m.c.id)
            .limit(max(0, int(limit)))
        )
        with unit_of_work(self._read) as s:
            return [Message(**row) for row in s.execute(query).mappings().all()]

    # -- helpers ----------------------------------------------------------------------------------
    def _locked(self, s, conversation_id: str):
        # PostgreSQL: hold the row for this transaction. SQLite's BEGIN IMMEDIATE already holds the writer lock.
        query = select(live_conversations).where(live_conversations.c.conversation_id == conversation_id)
        return query if s.get_bind().dialect.name == "sqlite" else query.with_for_update()

    def _get(self, s, conversation_id: str) -> Conversation:
        row = (
            s.execute(select(live_conversations).where(live_conversations.c.conversation_id == conversation_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NoSuchConversation(f"no handed-over conversation {conversation_id}")
        return Conversation(**row)
