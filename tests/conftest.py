"""Shared fixtures. `backend_url` gives each test its own empty database: a SQLite file
always, and PostgreSQL (a fresh schema per test) when MAKEGOOD_TEST_POSTGRES_URL is set.
`servers`: one real stack (actions server, Rasa, desk) for every e2e and browser test that
does not kill or restart servers."""

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


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """The real actions server, Rasa server and desk, started once per session: starting
    TensorFlow costs a minute or more on two cores. The desk lets the chat page pick a demo
    customer (MAKEGOOD_DEMO_SIGN_IN), as under `make run`."""
    from tests.support.servers import Servers, StartError

    work = tmp_path_factory.mktemp("e2e")
    started = Servers(
        workdir=work,
        database_url=f"sqlite:///{work / 'makegood.db'}",
        desk=True,
        extra_env={"MAKEGOOD_DEMO_SIGN_IN": "1", "MAKEGOOD_ATTACHMENTS_DIR": str(work / "attachments")},
    )
    try:
        started.start()
    except StartError as exc:
        pytest.fail(str(exc))
    try:
        yield started
    finally:
        started.stop()
