"""Engines, units of work, migrations and settings."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from makegood.config import get_settings, project_root
from makegood.db import current_revision, head_revision, make_engine, migrate, session_factory, unit_of_work
from makegood.errors import StoreUnavailable
from makegood.ledger import Ledger
from makegood.migrations.schema import load_schema

pytestmark = pytest.mark.integration

TABLES = {
    "proposals",
    "decisions",
    "reviews",
    "audit_events",
    "customers",
    "orders",
    "exception_history",
    "alembic_version",
}


def test_migrate_twice_is_harmless(backend_url):
    engine = make_engine(backend_url)
    try:
        migrate(engine)
        ledger = Ledger(engine)
        p = ledger.log_proposal(_proposal())
        migrate(engine)
        migrate(backend_url)  # from a URL too
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
        assert ledger.get(p.public_id) == p and ledger.verify().ok
    finally:
        engine.dispose()


def test_the_models_match_the_migration(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, load_schema()) == []


def test_unit_of_work_commits_on_success_and_rolls_back_on_error(engine):
    factory = session_factory(engine)
    with unit_of_work(factory) as s:
        s.execute(
            text(
                "INSERT INTO customers (id, name, email, membership, joined_on) "
                "VALUES ('C-9', 'N', 'n@example.com', 'gold', '2020-01-01')"
            )
        )
    with pytest.raises(RuntimeError), unit_of_work(factory) as s:
        s.execute(text("DELETE FROM customers"))
        raise RuntimeError("boom")
    with unit_of_work(session_factory(engine, read_only=True)) as s:
        assert s.execute(text("SELECT count(*) FROM customers")).scalar() == 1


def test_sqlite_is_set_up_for_concurrent_writers(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_in_memory_sqlite_works_for_quick_tools():
    ledger = Ledger.from_url("sqlite://")
    assert ledger.log_proposal(_proposal()).created and ledger.count() == 1


def test_a_closed_port_is_store_unavailable_without_the_password():
    url = "postgresql://postgres:s3cret@127.0.0.1:1/test?connect_timeout=2"
    with pytest.raises(StoreUnavailable) as caught:
        Ledger.from_url(url)
    message = str(caught.value)
    assert message.startswith("cannot reach the database at postgresql://postgres@127.0.0.1:1/test")
    assert "s3cret" not in message
    assert "refused" in message.lower() or "timeout" in message.lower()


def test_an_unopenable_sqlite_file_is_store_unavailable(tmp_path):
    with pytest.raises(StoreUnavailable, match=r"cannot reach the database at sqlite:///.*no/such/dir"):
        migrate(f"sqlite:///{tmp_path}/no/such/dir/x.db")


@pytest.mark.parametrize("url", ["not a url", "oracle2000://u:pw@h/db"])
def test_a_malformed_url_is_explained_without_echoing_it(url):
    with pytest.raises(StoreUnavailable, match=r"the database URL .* is not one Makegood can use") as caught:
        make_engine(url)
    assert "pw" not in str(caught.value)


def test_settings_come_from_the_environment_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("MAKEGOOD_POLICY_PATH", str(tmp_path / "p.yml"))
    settings = get_settings()
    assert settings.database_url == "postgresql://u@h/db" and settings.policy_path == tmp_path / "p.yml"
    monkeypatch.delenv("MAKEGOOD_DATABASE_URL")
    monkeypatch.delenv("MAKEGOOD_POLICY_PATH")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "makegood"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert project_root() == tmp_path
    settings = get_settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'makegood.db'}"
    assert settings.policy_path == tmp_path / "policy"
    assert (tmp_path / "var").is_dir()


def test_without_a_project_the_root_is_the_cwd(monkeypatch, tmp_path):
    monkeypatch.delenv("MAKEGOOD_DATABASE_URL", raising=False)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    monkeypatch.chdir(tmp_path)
    assert get_settings().database_url == f"sqlite:///{tmp_path / 'var' / 'makegood.db'}"


def _proposal():
    from makegood.ledger import ProposalIn

    return ProposalIn(
        conversation_id="c",
        turn_key="1",
        situation="late_delivery",
        policy_version="v",
        tier_required="agent",
        status="pending",
    )


def test_several_threads_starting_at_once_migrate_safely(backend_url):
    import threading

    barrier = threading.Barrier(4)
    errors = []

    def start():
        barrier.wait()
        try:
            migrate(backend_url)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == [] and not any(th.is_alive() for th in threads)
    engine = make_engine(backend_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_several_processes_starting_at_once_migrate_safely(backend_url):
    import subprocess
    import sys

    code = "import sys; from makegood.db import migrate; migrate(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, backend_url], stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert outcomes == [(0, "")] * 3
    engine = make_engine(backend_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
