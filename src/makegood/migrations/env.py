"""Alembic environment. Run through `makegood.db.migrate()`, which hands us a connection
in `config.attributes["connection"]`; otherwise the URL comes from the config or from
MAKEGOOD_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from makegood.db import make_engine
from makegood.migrations.schema import load_schema

# Several processes (actions server, desk, CLI) may start at once and each migrates.
# PostgreSQL: a transaction-scoped advisory lock makes them take turns, and the second one
# finds the schema already at head. The lock is keyed by the current schema too, so
# databases sharing a server in different schemas do not wait for each other. SQLite: the
# migration transaction begins with BEGIN IMMEDIATE (makegood.db), which serialises them.
MIGRATION_LOCK_KEY = 0x4D47_4D49  # "MGMI"

config = context.config
metadata = load_schema()  # every table, for autogenerate


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from makegood.config import get_settings

    return get_settings().database_url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        engine = make_engine(_url())
        try:
            with engine.connect() as connection:
                _run(connection)
                connection.commit()
        finally:
            engine.dispose()
