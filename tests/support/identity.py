"""Signed-in customers for tests that talk to the real servers: the token the website embeds."""

from __future__ import annotations


def token(secret: str, customer_id: str) -> str:
    from makegood.customers.identity import sign

    return sign(customer_id, secret)


def owner_of_order_in(database_url: str, text: str) -> str | None:
    """The customer whose order the text names (read the way the bot reads it), or None."""
    from makegood.customers import SqlCustomerStore
    from makegood.db import make_engine
    from makegood.nlp import extract
    from makegood.services.bot.case_facts import order_in_text

    named = [e.value for e in extract(text or "") if e.entity == "order_id"]
    found = named[0] if named else order_in_text(text or "")
    if not found:
        return None
    engine = make_engine(database_url)
    try:
        owner = SqlCustomerStore(engine).find_customer_by_order(found)
    finally:
        engine.dispose()
    return owner.id if owner else None


class SignIns:
    """Per conversation: signed in as the owner of the first order it names (a customer talks
    about their own orders), anonymous until then."""

    def __init__(self, secret: str | None, database_url: str) -> None:
        self.secret, self.database_url = secret, database_url
        self.customers: dict[str, str] = {}

    def metadata(self, sender: str, text: str) -> dict:
        if not self.secret:
            return {}
        if sender not in self.customers:
            owner = owner_of_order_in(self.database_url, text)
            if owner:
                self.customers[sender] = owner
        customer = self.customers.get(sender)
        return {"customer_token": token(self.secret, customer)} if customer else {}
