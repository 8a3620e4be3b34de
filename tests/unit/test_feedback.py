"""Feedback as a second chance, on a real database (SQLite; PostgreSQL too when configured)."""

from __future__ import annotations

import threading

import pytest

from makegood.db import make_engine, migrate
from makegood.ledger import Ledger, ProposalIn
from makegood.services.conversations import LiveConversations
from makegood.services.feedback import (
    AlreadyRated,
    Feedback,
    FeedbackError,
    NothingToRate,
    ratings,
    words_report_problem,
)


@pytest.fixture
def world(backend_url):
    engine = make_engine(backend_url)
    migrate(engine)
    ledger = Ledger(engine)
    live = LiveConversations(engine)
    yield Feedback(engine, ledger, live, words_report_problem), ledger, live, engine
    engine.dispose()


def closed_case(ledger, conversation="web-1", status="accepted"):
    return ledger.log_proposal(
        ProposalIn(
            conversation_id=conversation,
            turn_key="grant:1",
            situation="damaged_item",
            policy_version="test",
            tier_required="self_service",
            status=status,
            customer_id=None,
            option_chosen={"remedy": "partial_refund", "size": "25.00", "text": "$25 back"},
        )
    )


def test_a_good_rating_is_stored_and_nothing_reopens(world):
    feedback, ledger, live, engine = world
    case = closed_case(ledger)
    assert feedback.can_rate("web-1")
    rating = feedback.rate("web-1", 5, "quick and kind, thanks")
    assert (rating.stars, rating.reopened, rating.proposal_id, rating.situation) == (
        5,
        False,
        case.public_id,
        "damaged_item",
    )
    assert live.find("web-1") is None
    assert [p.public_id for p in ledger.list(conversation_id="web-1")] == [case.public_id]
    assert not feedback.can_rate("web-1")
    with engine.connect() as c:
        assert c.execute(ratings.select()).mappings().one()["comment"] == "quick and kind, thanks"


@pytest.mark.parametrize(("stars", "comment"), [(1, ""), (2, "ok"), (4, "it still hasn't arrived though")])
def test_a_low_rating_or_a_problem_in_the_comment_goes_back_to_a_person_never_an_auto_reply(world, stars, comment):
    feedback, ledger, live, _ = world
    case = closed_case(ledger)
    rating = feedback.rate("web-1", stars, comment)
    assert rating.reopened
    waiting = live.get("web-1")
    assert waiting.state == "waiting" and f"rated the chat {stars}/5" in waiting.reason
    reopened = ledger.get(rating.reopened_as)
    assert reopened.status == "pending" and reopened.context["reopens"] == case.public_id
    assert reopened.context["rating"] == {"stars": stars, "comment": comment}
    assert waiting.handoff_proposal_id == reopened.public_id


def test_only_a_closed_case_can_be_rated_and_only_once(world):
    feedback, ledger, _, _ = world
    with pytest.raises(NothingToRate):
        feedback.rate("web-1", 5)
    closed_case(ledger, status="offered")
    with pytest.raises(NothingToRate):
        feedback.rate("web-1", 5)
    closed_case(ledger, conversation="web-2")
    feedback.rate("web-2", 4)
    with pytest.raises(AlreadyRated):
        feedback.rate("web-2", 1)


def test_racing_submits_store_one_rating(world):
    feedback, ledger, _, engine = world
    closed_case(ledger)
    outcomes: list[str] = []

    def submit():
        try:
            feedback.rate("web-1", 1, "no")
            outcomes.append("stored")
        except AlreadyRated:
            outcomes.append("already")

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("stored") == 1
    with engine.connect() as c:
        assert len(c.execute(ratings.select()).all()) == 1


@pytest.mark.parametrize("stars", [0, 6, -1, "five", 2.5, True, None, "9" * 50])
def test_a_bad_rating_is_refused_with_a_clear_error_and_nothing_stored(world, stars):
    feedback, ledger, _, engine = world
    closed_case(ledger)
    with pytest.raises(FeedbackError, match="stars must be a whole number from 1 to 5"):
        feedback.rate("web-1", stars)
    with pytest.raises(FeedbackError, match="at most 2000"):
        feedback.rate("web-1", 5, "x" * 2001)
    with engine.connect() as c:
        assert c.execute(ratings.select()).all() == []


def test_the_words_that_report_an_open_problem():
    assert words_report_problem("Still no refund after a week")
    assert words_report_problem("the parcel never came")
    assert not words_report_problem("Lovely, thank you so much")
