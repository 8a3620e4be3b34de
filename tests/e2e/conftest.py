"""End-to-end: the real actions server and the real Rasa server, on free loopback ports,
with a fresh SQLite database seeded with the demo customers. Conversations go over REST."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from tests.support.identity import owner_of_order_in, token
from tests.support.servers import forget_grants


class Bot:
    """A customer on the website. Signed in: every message carries the customer token the site
    would embed. Who it is: `sign_in(sender, customer)`, or else the owner of the first order
    number the customer types (a customer talks about their own orders); until then the
    chat is anonymous, as on a site before signing in."""

    def __init__(self, rasa_url: str, database_url: str, identity_secret: str | None = None):
        self.rasa_url = rasa_url
        self.database_url = database_url
        self.identity_secret = identity_secret
        self.signed_in: dict[str, str | None] = {}

    def sign_in(self, sender: str, customer_id: str | None) -> None:
        self.signed_in[sender] = customer_id

    def owner_of_order_in(self, text: str) -> str | None:
        return owner_of_order_in(self.database_url, text)

    def metadata(self, sender: str, message: str) -> dict:
        if self.signed_in.get(sender) is None and self.identity_secret:
            owner = self.owner_of_order_in(message)
            if owner:
                self.signed_in[sender] = owner
        customer = self.signed_in.get(sender)
        if not customer or not self.identity_secret:
            return {}
        return {"customer_token": token(self.identity_secret, customer)}

    def say(self, sender: str, message: str) -> list[str]:
        body = json.dumps({"sender": sender, "message": message, "metadata": self.metadata(sender, message)}).encode()
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return [m.get("text", "") for m in json.load(response)]

    def ledger(self):
        from makegood.ledger import Ledger

        return Ledger.from_url(self.database_url, migrate=False)

    def proposals(self, sender: str):
        return self.ledger().list(conversation_id=sender, limit=50)

    @staticmethod
    def new_sender(label: str) -> str:
        return f"e2e-{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def bot(servers) -> Bot:
    """The session's servers, with the demo customers' history as seeded: each test is a new
    scenario, not the sequel of the one before (see forget_grants)."""
    forget_grants(servers.database_url)
    return Bot(servers.urls["rasa"], servers.database_url, servers.identity_secret)
