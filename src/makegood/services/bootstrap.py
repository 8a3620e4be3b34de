"""One bootstrap that wires the catalog, the ledger and the customer store.

Nothing is built at import time (rasa_sdk imports every action module at start-up);
`get_services()` builds on first use and `set_services()` lets tests put fakes in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Optional

from makegood.policy import Catalog


@dataclass
class Services:
    catalog: Catalog
    ledger: object  # makegood.ledger.Ledger or a fake with the same methods
    customers: object  # makegood.customers.CustomerStore
    today: Callable[[], date] = field(default=date.today)


_lock = threading.Lock()
_services: Optional[Services] = None


def build_default_services() -> Services:
    from makegood.config import get_settings
    from makegood.customers import SqlCustomerStore
    from makegood.ledger import Ledger
    from makegood.policy import load_catalog

    settings = get_settings()
    catalog = load_catalog(settings.policy_path)
    ledger = Ledger.from_url(settings.database_url)
    customers = SqlCustomerStore(ledger.engine)
    return Services(catalog=catalog, ledger=ledger, customers=customers)


def get_services() -> Services:
    global _services
    with _lock:
        if _services is None:
            _services = build_default_services()
        return _services


def set_services(services: Optional[Services]) -> None:
    """Install fakes (tests) or reset to lazy defaults (None)."""
    global _services
    with _lock:
        _services = services
