"""Hand back to the bot, on the real Rasa: after a person has talked in a paused chat, the
resumed bot answers the next message as a normal turn, with the case still there."""

from __future__ import annotations

import pytest

from makegood.desk.rasa_api import RasaApi

pytestmark = pytest.mark.e2e


def test_a_resumed_chat_answers_thanks_as_thanks_not_with_another_handoff(servers, bot):
    sender = bot.new_sender("resume")
    bot.say(sender, "the dinner set from order MG-10422 arrived smashed to pieces")
    handed = " ".join(bot.say(sender, "I want to talk to a real person"))
    assert "passed your case to a colleague" in handed, handed
    bot.say(sender, "ok, I'll wait")  # logged while paused: no listen before it, no prediction
    rasa = RasaApi(servers.urls["rasa"], servers.rasa_token)
    rasa.say_as_agent(sender, "Hi, I'm Alice. I've sorted the refund for you.", "alice", "Alice")
    rasa.resume(sender, "You're back with the Makegood assistant.")
    replies = " ".join(bot.say(sender, "thanks a lot"))
    assert "You're welcome" in replies, replies
    assert "passed your case" not in replies
    tracker = rasa.tracker(sender)
    assert not tracker.get("paused") and tracker["slots"].get("situation") == "damaged_item"
