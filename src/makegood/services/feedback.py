"""Feedback as a second chance: a customer rates a closed chat, and a bad one goes to a person.

    feedback = Feedback(engine, ledger, live, reports_problem)
    feedback.rate("web-3f9…", stars=1, comment="still no refund", customer_id="C-1001")

A rating of 2 or less, or a comment that reports a problem still open ("it still hasn't
arrived"), reopens the conversation for a person: it waits again in the live inbox with the
rating as its reason (the transcript is Rasa's, as for every handoff) and a pending ledger
entry carries the rating, the comment and the case it is about, so it is in the queue and in
the analytics. Never an automatic reply. Every rating is stored for the analytics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, Index, Integer, String, Table, Text, insert, select
from sqlalchemy.engine import Engine

from makegood.db import metadata, session_factory, unit_of_work
from makegood.errors import MakegoodError

LOW = 2  # a rating this low or lower always goes back to a person
MAX_COMMENT = 2000
CLOSED = ("accepted", "approved", "delivered")  # a case the customer was told is settled

ratings = Table(
    "ratings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(128), nullable=False),
    Column("proposal_id", String(16), nullable=True),  # the closed case the rating is about
    Column("situation", String(64), nullable=True),
    Column("customer_id", String(32), nullable=True),
    Column("stars", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("reopened", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
    Index("ix_ratings_conversation", "conversation_id"),
    Index("uq_ratings_case", "conversation_id", "proposal_id", unique=True),
)


class FeedbackError(MakegoodError):
    pass


class NothingToRate(FeedbackError):
    """No case of this conversation has been closed yet."""


class AlreadyRated(FeedbackError):
    pass


@dataclass(frozen=True)
class Rating:
    id: int
    conversation_id: str
    proposal_id: str | None
    situation: str | None
    stars: int
    comment: str
    reopened: bool
    reopened_as: str | None = None  # the ledger entry a person now has in the queue


def stars_of(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FeedbackError("stars must be a whole number from 1 to 5")
    try:
        stars = int(str(value).strip())
    except ValueError:
        raise FeedbackError("stars must be a whole number from 1 to 5") from None
    if not 1 <= stars <= 5:
        raise FeedbackError("stars must be a whole number from 1 to 5")
    return stars


def comment_of(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FeedbackError("a comment is text")
    text = " ".join(value.split())
    if len(text) > MAX_COMMENT:
        raise FeedbackError(f"a comment is at most {MAX_COMMENT} characters")
    return text


class Feedback:
    def __init__(
        self,
        engine: Engine,
        ledger: Any,
        live: Any,
        reports_problem: Callable[[str], bool],
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._write = session_factory(engine)
        self._read = session_factory(engine, read_only=True)
        self.ledger = ledger
        self.live = live  # makegood.services.conversations.LiveConversations
        self.reports_problem = reports_problem
        self._now = now

    def closed_case(self, conversation_id: str) -> Any | None:
        """The conversation's latest case the customer was told is settled, or None."""
        for proposal in self.ledger.list(conversation_id=conversation_id, limit=50):
            if proposal.status in CLOSED:
                return proposal
        return None

    def can_rate(self, conversation_id: str) -> bool:
        case = self.closed_case(conversation_id)
        return case is not None and self._rating_of(conversation_id, case.public_id) is None

    def _rating_of(self, conversation_id: str, proposal_id: str | None):
        t = ratings
        with self._read() as s:
            return s.execute(
                select(t.c.id).where(t.c.conversation_id == conversation_id, t.c.proposal_id == proposal_id)
            ).first()

    def rate(self, conversation_id: str, stars: Any, comment: Any = None, *, customer_id: str | None = None) -> Rating:
        stars, comment = stars_of(stars), comment_of(comment)
        case = self.closed_case(conversation_id)
        if case is None:
            raise NothingToRate("there is no closed case in this chat to rate yet")
        if customer_id and case.customer_id and case.customer_id != customer_id:
            raise NothingToRate("there is no closed case in this chat to rate yet")
        if self._rating_of(conversation_id, case.public_id) is not None:
            raise AlreadyRated("this chat has been rated already: thank you")
        reopen = stars <= LOW or bool(comment and self.reports_problem(comment))
        from sqlalchemy.exc import IntegrityError

        try:
            with unit_of_work(self._write) as s:
                rating_id = s.execute(
                    insert(ratings).values(
                        conversation_id=conversation_id,
                        proposal_id=case.public_id,
                        situation=case.situation,
                        customer_id=case.customer_id,
                        stars=stars,
                        comment=comment,
                        reopened=reopen,
                        created_at=self._now(),
                    )
                ).inserted_primary_key[0]
        except IntegrityError:  # a racing second submit of the same rating
            raise AlreadyRated("this chat has been rated already: thank you") from None
        reopened_as = self._reopen(conversation_id, case, stars, comment, rating_id) if reopen else None
        return Rating(rating_id, conversation_id, case.public_id, case.situation, stars, comment, reopen, reopened_as)

    def _reopen(self, conversation_id: str, case: Any, stars: int, comment: str, rating_id: int) -> str:
        from makegood.ledger import ProposalIn

        said = f": “{comment[:200]}”" if comment else ""
        reason = f"the customer rated the chat {stars}/5{said}"
        entry = self.ledger.log_proposal(
            ProposalIn(
                conversation_id=conversation_id,
                turn_key=f"feedback:{rating_id}",
                channel=case.channel,
                situation=case.situation,
                customer_id=case.customer_id,
                order_id=case.order_id,
                facts=dict(case.facts or {}),
                status="pending",
                tier_required="agent",
                policy_version=case.policy_version,
                context={
                    "reason": reason,
                    "rating": {"stars": stars, "comment": comment},
                    "reopens": case.public_id,
                    "granted_before": case.option_chosen,
                },
            )
        )
        self.live.hand_over(conversation_id, proposal_id=entry.public_id, reason=reason, customer_id=case.customer_id)
        return entry.public_id


# A comment reports an open problem when the words say it is still not put right. Used when
# the NLU is unreachable, and beside it (a plain "still hasn't arrived" is not an exception intent).
_STILL_WRONG = (
    "still",
    "not resolved",
    "unresolved",
    "not fixed",
    "hasn't",
    "hasnt",
    "haven't",
    "havent",
    "didn't",
    "didnt",
    "never",
    "no refund",
    "nothing",
    "not arrived",
    "not received",
    "waste",
    "useless",
    "terrible",
    "awful",
)


def words_report_problem(comment: str) -> bool:
    text = f" {comment.lower()} "
    return any(f" {w}" in text or f"{w} " in text for w in _STILL_WRONG)
