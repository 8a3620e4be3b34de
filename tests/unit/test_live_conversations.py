"""The live-conversation store on a real database: SQLite always, PostgreSQL too when
MAKEGOOD_TEST_POSTGRES_URL is set (skipped with that reason otherwise; see tests/conftest.py)."""

from __future__ import annotations

import threading

import pytest

from makegood.db import make_engine, migrate
from makegood.services.conversations import (
    MAX_MESSAGE,
    ClaimConflict,
    ConversationError,
    LiveConversations,
    NoSuchConversation,
    NotTheOwner,
)


@pytest.fixture
def engine(backend_url):
    engine = make_engine(backend_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def live(engine):
    return LiveConversations(engine)


def handed(live, conversation="web-1", proposal="P-1", reason="customer asked for a person"):
    return live.hand_over(conversation, proposal_id=proposal, reason=reason, customer_id="C-100")


def test_a_handover_waits_for_a_person_with_its_packet_reference(live):
    conversation = handed(live)
    assert (conversation.state, conversation.owner) == ("waiting", None)
    assert (conversation.handoff_proposal_id, conversation.customer_id) == ("P-1", "C-100")
    assert conversation.reason == "customer asked for a person"
    assert [c.conversation_id for c in live.list(state="waiting")] == ["web-1"]


def test_handing_over_twice_is_one_conversation_and_keeps_its_owner(live):
    handed(live)
    live.claim("web-1", "alice")
    again = handed(live, proposal="P-2", reason="another ask")
    assert (again.state, again.owner, again.handovers, again.handoff_proposal_id) == ("claimed", "alice", 1, "P-1")
    assert len(live.list(state="all")) == 1


def test_a_conversation_handed_back_and_handed_over_again_waits_for_anyone(live):
    handed(live)
    live.claim("web-1", "alice")
    live.release("web-1", "alice")
    again = handed(live, proposal="P-2", reason="the bot could not help")
    assert (again.state, again.owner, again.handovers, again.handoff_proposal_id) == ("waiting", None, 2, "P-2")


def test_a_claim_makes_one_owner_and_a_second_claim_conflicts(live):
    handed(live)
    assert live.claim("web-1", "alice").owner == "alice"
    with pytest.raises(ClaimConflict, match="alice already claimed it"):
        live.claim("web-1", "bob")
    assert live.get("web-1").owner == "alice"


def test_racing_claims_from_threads_have_exactly_one_winner(live):
    handed(live)
    agents = [f"agent{n}" for n in range(8)]
    start = threading.Barrier(len(agents))
    won, lost = [], []

    def claim(agent):
        start.wait()
        try:
            live.claim("web-1", agent)
            won.append(agent)
        except ClaimConflict:
            lost.append(agent)

    threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(won) == 1 and len(lost) == len(agents) - 1
    assert live.get("web-1").owner == won[0]


def test_claiming_an_unknown_or_released_conversation_is_refused(live):
    with pytest.raises(NoSuchConversation):
        live.claim("web-nobody", "alice")
    handed(live)
    live.claim("web-1", "alice")
    live.release("web-1", "alice")
    with pytest.raises(ClaimConflict, match="back with the bot"):
        live.claim("web-1", "bob")


def test_only_the_owner_writes_and_messages_come_back_in_id_order(live):
    handed(live)
    with pytest.raises(NotTheOwner):
        live.add_message("web-1", "alice", "hello")  # nobody owns it yet
    live.claim("web-1", "alice")
    with pytest.raises(NotTheOwner):
        live.add_message("web-1", "bob", "I am not alice")
    first = live.add_message("web-1", "alice", "  Hi, I'm Alice  ")
    second = live.add_message("web-1", "alice", "Let me look at the order")
    assert first.text == "Hi, I'm Alice"
    assert [m.text for m in live.messages_after("web-1")] == ["Hi, I'm Alice", "Let me look at the order"]
    assert [m.id for m in live.messages_after("web-1", first.id)] == [second.id]
    assert live.messages_after("web-1", second.id) == []


@pytest.mark.parametrize("text", ["", "   ", None, 42, "x" * (MAX_MESSAGE + 1)])
def test_empty_or_too_long_messages_are_refused_and_nothing_is_stored(live, text):
    handed(live)
    live.claim("web-1", "alice")
    with pytest.raises(ConversationError):
        live.add_message("web-1", "alice", text)
    assert live.messages_after("web-1") == []


def test_the_desk_speaks_for_the_bot_without_owning_the_conversation(live):
    handed(live)
    message = live.add_message("web-1", "bot", "You're back with our assistant.", kind="bot")
    assert (message.kind, message.author) == ("bot", "bot")


def test_only_the_owner_hands_back_and_then_it_is_the_bots_again(live):
    handed(live)
    live.claim("web-1", "alice")
    with pytest.raises(NotTheOwner):
        live.release("web-1", "bob")
    released = live.release("web-1", "alice")
    assert released.state == "released" and released.released_at is not None
    assert live.list(state="all") == []
    with pytest.raises(NotTheOwner):
        live.release("web-1", "alice")  # twice: it is nobody's now


def test_an_undone_claim_waits_again_but_never_undoes_someone_elses(live):
    handed(live)
    live.claim("web-1", "alice")
    live.unclaim("web-1", "bob")
    assert live.get("web-1").owner == "alice"
    live.unclaim("web-1", "alice")
    assert (live.get("web-1").state, live.get("web-1").owner) == ("waiting", None)


def test_the_lists_waiting_mine_and_all(live):
    handed(live, "web-1")
    handed(live, "web-2")
    handed(live, "web-3")
    live.claim("web-2", "alice")
    live.claim("web-3", "bob")
    assert [c.conversation_id for c in live.list(state="waiting")] == ["web-1"]
    assert [c.conversation_id for c in live.list(state="mine", agent="alice")] == ["web-2"]
    assert [c.conversation_id for c in live.list(state="all")] == ["web-1", "web-2", "web-3"]
    with pytest.raises(ConversationError, match="unknown state"):
        live.list(state="everything")
