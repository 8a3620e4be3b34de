"""Every Makegood table on one `MetaData`: the migrations' target (autogenerate), and what the
test that checks the models against the migrations compares.

It lives here, above the stores, because it imports each store's schema; `makegood.db`, which
those schemas import, must not import them back (it used to, by name through importlib).
"""

from __future__ import annotations

from sqlalchemy import MetaData

from makegood.accounts import schema as accounts_schema
from makegood.customers import schema as customers_schema
from makegood.db import metadata
from makegood.ledger import schema as ledger_schema
from makegood.services import conversations as live_conversations_schema
from makegood.services import feedback as feedback_schema

SCHEMA_MODULES = (ledger_schema, customers_schema, accounts_schema, live_conversations_schema, feedback_schema)


def load_schema() -> MetaData:
    """`metadata` with every Makegood table registered on it (importing this module did that)."""
    return metadata
