"""Whose chat is it, over the real servers: the token travels as REST message metadata."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def joined(replies: list[str]) -> str:
    return " ".join(replies)


def test_a_signed_in_customer_cannot_see_another_customers_order(bot):
    mine = bot.new_sender("theirs")
    bot.sign_in(mine, "C-1003")
    theirs = joined(bot.say(mine, "the dinner set from order MG-10422 arrived smashed"))
    nobody = bot.new_sender("nobody")
    bot.sign_in(nobody, "C-1003")
    missing = joined(bot.say(nobody, "the dinner set from order MG-19999 arrived smashed"))
    assert "find order MG-10422 on your account" in theirs, theirs
    # The same answer as for an order that does not exist (the apology before it varies).
    after = "I couldn't find order"
    assert theirs.split(after)[1].replace("MG-10422", "?") == missing.split(after)[1].replace("MG-19999", "?")
    assert "Here's what I can do" not in theirs
    assert not [p for p in bot.proposals(mine) if p.customer_id == "C-1001"]


def test_an_anonymous_chat_is_asked_to_sign_in_before_any_order_is_looked_at(bot):
    sender = bot.new_sender("anon")
    bot.identity_secret, secret = None, bot.identity_secret  # a visitor who has not signed in
    try:
        replies = joined(bot.say(sender, "the dinner set from order MG-10422 arrived smashed"))
    finally:
        bot.identity_secret = secret
    assert "sign in" in replies, replies
    assert "Here's what I can do" not in replies
    assert all(p.customer_id is None for p in bot.proposals(sender))
