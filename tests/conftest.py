"""Shared fixtures. `backend_url` gives each test its own empty database: a SQLite file
always, and PostgreSQL (a fresh schema per test) when MAKEGOOD_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest

POSTGRES_ENV = "MAKEGOOD_TEST_POSTGRES_URL"


@pytest.fixture
def make_backend_url(tmp_path):
    """`make_backend_url("sqlite" | "postgresql")` -> a database URL nobody else uses.
    PostgreSQL: a schema made for this test (via search_path) and dropped afterwards, so
    tests never depend on their order; skipped when MAKEGOOD_TEST_POSTGRES_URL is not set."""
    cleanups = []

    def make(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'makegood-{uuid.uuid4().hex[:8]}.db'}"
        base = os.environ.get(POSTGRES_ENV, "").strip()
        if not base:
            pytest.skip(f"{POSTGRES_ENV} not set: PostgreSQL ledger tests skipped")
        from sqlalchemy import create_engine, text

        schema = f"mg_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base, future=True)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))

        def drop():
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        cleanups.append(drop)
        joiner = "&" if "?" in base else "?"
        return f"{base}{joiner}options={quote(f'-csearch_path={schema}')}"

    yield make
    for cleanup in reversed(cleanups):
        cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request, make_backend_url):
    return make_backend_url(request.param)
