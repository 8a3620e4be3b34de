"""Engines, sessions, units of work and migrations for the ledger and the customer store.

SQLAlchemy 1.4 in 2.0 style (`future=True`, `select()`). SQLite is the embedded default,
PostgreSQL the production database. Nothing here runs at import time.

SQLite transactions. pysqlite's own transaction handling is switched off and every
transaction is begun explicitly: units of work that write begin with `BEGIN IMMEDIATE`,
which takes SQLite's single write lock up front and waits for it (busy timeout) instead
of failing half-way with "database is locked" when a read snapshot turns out stale.
That one lock is also what serialises the audit hash chain on SQLite. Read-only units of
work (`session_factory(engine, read_only=True)`) begin with a plain deferred `BEGIN` and,
thanks to WAL, never wait for writers.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, MetaData, Numeric, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool
from sqlalchemy.types import TypeDecorator

from makegood.errors import StoreUnavailable

# One MetaData for every Makegood table, with named constraints so later Alembic
# migrations (including SQLite batch mode) can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# -- column types shared by the ledger and the customer store ----------------------------------------
class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend. PostgreSQL: timestamptz. SQLite keeps
    naive UTC text; values come back aware (UTC) either way. Naive input is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Makegood stores timezone-aware UTC only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Money(TypeDecorator):
    """Decimal money, two places. PostgreSQL: NUMERIC(12,2). SQLite has no decimal type
    (NUMERIC there means a binary float), so it stores integer cents: exact, sortable."""

    impl = Numeric(12, 2, asdecimal=True)
    cache_ok = True
    _CENT = Decimal("0.01")

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Integer())
        return dialect.type_descriptor(Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, never float")
        value = Decimal(value).quantize(self._CENT)
        return int(value * 100) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(self._CENT)
        return Decimal(value).quantize(self._CENT)


def json_type(*, nullable: bool = False):
    """JSON on every backend, JSONB on PostgreSQL. SQL NULL (not JSON null) for None when nullable."""
    return JSON(none_as_null=nullable).with_variant(JSONB(none_as_null=nullable), "postgresql")


SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
_BEGIN_OPTION = "makegood_sqlite_begin"
_BAD_URL = (
    "the database URL (MAKEGOOD_DATABASE_URL) is not one Makegood can use: expected e.g. "
    "sqlite:///var/makegood.db or postgresql://user@host:5432/makegood"
)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def safe_url(url: str | URL) -> str:
    """The URL as text, without its password: fit for messages and logs."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:  # noqa: BLE001 - not even a URL: show nothing that could be a secret
        return "<unparseable database URL>"
    return parsed._replace(password=None).render_as_string(hide_password=False)


def _reason(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An Engine for `url` (future=True). Extra keyword arguments go to `create_engine`.

    SQLite: WAL journal, foreign keys on, a busy timeout so concurrent writers wait.
    PostgreSQL: pool_pre_ping and a connect timeout (unless the URL sets one).
    Failing to connect raises StoreUnavailable naming the URL (without its password).
    """
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except sa_exc.ArgumentError:
        raise StoreUnavailable(_BAD_URL) from None
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {"future": True}
    if backend == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        connect_args["check_same_thread"] = False  # pooled connections serve one thread at a time
        if in_memory:  # one shared connection, or every session would see a new empty database
            options["poolclass"] = StaticPool
        else:
            # SQLAlchemy 1.4 defaults file databases to NullPool: a new connection (and its
            # PRAGMAs) for every unit of work, which was a third of a bot turn's database time.
            options["poolclass"] = QueuePool
            options["pool_size"] = 5
            options["max_overflow"] = 20
        options["connect_args"] = connect_args
    elif backend == "postgresql":
        options["pool_pre_ping"] = True
        if "connect_timeout" not in parsed.query:
            options["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    options.update(kwargs)
    try:
        engine = create_engine(parsed, **options)
    except sa_exc.NoSuchModuleError:
        raise StoreUnavailable(f"{_BAD_URL}; {backend!r} is not a supported database") from None
    shown = safe_url(parsed)

    @event.listens_for(engine, "handle_error")
    def _unavailable(ctx) -> None:  # pragma: no branch - tiny
        # ctx.connection is None while connecting: that is "cannot reach", not a bad query.
        if ctx.connection is None and isinstance(ctx.sqlalchemy_exception, sa_exc.OperationalError):
            raise StoreUnavailable(
                f"cannot reach the database at {shown}: {_reason(ctx.original_exception)}"
            ) from ctx.original_exception

    if backend == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            _guard_sqlite_file(engine, path)  # first: its checks run before our BEGIN
        _configure_sqlite(engine)
    return engine


def sqlite_file(url: str | URL) -> Path | None:
    """The absolute path of a SQLite URL's database file; None for other databases and for
    in-memory SQLite. Raises StoreUnavailable for a URL that does not parse."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except sa_exc.ArgumentError:
        raise StoreUnavailable(_BAD_URL) from None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or "mode=memory" in str(parsed) or database.startswith("file:"):
        return None
    return Path(database).expanduser().absolute()


class SqliteFileGuard:
    """Remembers which file (device, inode) a SQLite engine opened first and refuses to go on
    once the path names another file or none: a database moved or deleted under a running
    process must fail loudly, not carry on in a fresh empty file that SQLite would create
    (or, for pooled connections, in the moved file nobody looks at any more).

    Checked before every new connection and at the start of every transaction (one stat)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _current(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnavailable(f"cannot reach the database file {self.path}: {exc.strerror or exc}") from None
        return (st.st_dev, st.st_ino)

    def check(self) -> None:
        """StoreUnavailable when the path no longer names the file first opened."""
        remembered = self.identity
        if remembered is None:
            return
        current = self._current()
        if current != remembered:
            what = "moved or deleted" if current is None else "replaced by another file"
            raise StoreUnavailable(
                f"the database file {self.path} was {what} while Makegood was using it; refusing to "
                f"read or write anything else in its place: put the file back (or restart to use a new one)"
            )

    def remember(self) -> None:
        with self._lock:
            if self.identity is None:
                self.identity = self._current()


def _guard_sqlite_file(engine: Engine, path: Path) -> None:
    guard = SqliteFileGuard(path)
    engine.sqlite_file_guard = guard  # for tests and diagnostics

    @event.listens_for(engine, "do_connect")
    def _before_connect(_dialect, _record, _cargs, _cparams) -> None:
        guard.check()  # before SQLite gets the chance to create an empty file at the path

    @event.listens_for(engine, "connect")
    def _after_connect(_dbapi_connection, _record) -> None:
        guard.remember()

    @event.listens_for(engine, "begin")
    def _before_transaction(_connection: Connection) -> None:
        guard.check()


def _use_wal(cursor: Any) -> None:
    """WAL is a property of the file, so only the first connection ever changes it. That change
    needs the file to itself, and SQLite does not always wait for it (busy_timeout): several
    processes opening a new file at once (make run starts three) got "database is locked".
    Skip it when the file is already in WAL; otherwise retry until busy_timeout has passed."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see module doc)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(bind: Engine | Connection | Session) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker:
    """Sessions bound to `engine`. Objects stay readable after commit.

    On SQLite a write factory begins with BEGIN IMMEDIATE (the default), a read-only one
    with a deferred BEGIN. On PostgreSQL both are the same.
    """
    bind = engine.execution_options(**{_BEGIN_OPTION: "DEFERRED" if read_only else "IMMEDIATE"})
    return sessionmaker(bind=bind, future=True, expire_on_commit=False)


@contextlib.contextmanager
def unit_of_work(factory: Callable[[], Session]) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back when it raises."""
    session = factory()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


# -- migrations -----------------------------------------------------------------------------------
def alembic_config(url: str | URL | None = None):
    """An `alembic.config.Config` built in code, so migrations work from an installed package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", str(url).replace("%", "%%"))
    return config


# Alembic keeps its running context in module globals (`alembic.context`, `alembic.op`), so
# two threads of one process must not migrate at the same time; processes are serialised
# by the database itself (see migrations/env.py).
_MIGRATE_LOCK = threading.Lock()


def migrate(engine_or_url: Engine | str | URL, revision: str = "head") -> None:
    """`alembic upgrade head`, in code. Idempotent and safe to call at every start, also
    from several threads or processes at once."""
    from alembic import command

    if isinstance(engine_or_url, Engine):
        engine, owned = engine_or_url, False
    else:
        engine, owned = make_engine(engine_or_url), True
    try:
        with _MIGRATE_LOCK:
            _upgrade(command, engine, revision)
    finally:
        if owned:
            engine.dispose()


def _upgrade(command, engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if connection.in_transaction():  # alembic leaves the outer transaction to us
            connection.commit()


def head_revision() -> str | None:
    """The newest migration in the package."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
