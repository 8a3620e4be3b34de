"""One bootstrap that wires the catalog, the ledger and the customer store.

Nothing is built at import time (rasa_sdk imports every action module at start-up);
`get_services()` builds on first use and `set_services()` lets tests put fakes in.
Whatever builds a `Services`, its ledger grants through the one `GrantGuard`, so the
cumulative limits hold for the bot, the copilot, the desk and the CLI alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from makegood.policy import Catalog
from makegood.services.conversations import LiveConversations
from makegood.services.grants import GrantGuard


@dataclass
class Services:
    catalog: Catalog
    ledger: Any  # makegood.ledger.Ledger or a fake with the same methods
    customers: Any  # makegood.customers.CustomerStore
    today: Callable[[], date] = field(default=date.today)
    # Whose chat is it (makegood.customers.identity / scoped): the token secret, and whether an
    # anonymous chat may look orders up ("open", development only) or not ("required").
    identity_secret: str | None = None
    chat_identity: str = "required"
    # The live inbox (makegood.services.conversations): on the ledger's database unless given.
    conversations: Any = None

    def __post_init__(self) -> None:
        if self.conversations is None and getattr(self.ledger, "engine", None) is not None:
            self.conversations = LiveConversations(self.ledger.engine)
        # A ledger built without a guard (tests, tools) gets this wiring's: no way round the limits.
        if getattr(self.ledger, "on_grant", False) is None:
            self.ledger.on_grant = GrantGuard(self.catalog, self.customers, lambda: self.today())


_lock = threading.Lock()
_services: Services | None = None


def build_default_services() -> Services:
    from makegood.config import get_settings
    from makegood.customers import SqlCustomerStore
    from makegood.ledger import Ledger
    from makegood.policy import load_catalog

    settings = get_settings()
    catalog = load_catalog(settings.policy_path)
    ledger = Ledger.from_url(settings.database_url)
    customers = SqlCustomerStore(ledger.engine)
    return Services(
        catalog=catalog,
        ledger=ledger,
        customers=customers,
        identity_secret=settings.identity_secret,
        chat_identity=settings.chat_identity,
    )


def get_services() -> Services:
    global _services
    with _lock:
        if _services is None:
            _services = build_default_services()
        return _services


def set_services(services: Services | None) -> None:
    """Install fakes (tests) or reset to lazy defaults (None)."""
    global _services
    with _lock:
        _services = services
