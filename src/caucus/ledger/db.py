"""Engines for the two supported databases.

SQLite (WAL, ``synchronous=FULL``) is the embedded default; PostgreSQL (psycopg 3) is the production engine.
On SQLite, Python's ``sqlite3`` transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself,
so that reads see one snapshot and writers can ask for ``BEGIN IMMEDIATE`` (see :func:`write_transaction`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Select, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

SQLITE_FILENAME = "caucus.db"
BEGIN_IMMEDIATE = "caucus_sqlite_begin_immediate"
ONE_STATEMENT = "caucus_sqlite_one_statement"
SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_PRAGMAS = (
    ("busy_timeout", str(SQLITE_BUSY_TIMEOUT_MS)),
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
)
# synchronous_commit values that wait for the local WAL flush before acknowledging a commit.
DURABLE_SYNCHRONOUS_COMMIT = frozenset({"on", "local", "remote_write", "remote_apply"})


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """``moment`` as fixed-width ISO 8601 text in UTC, e.g. ``2020-02-03T19:00:00.000000+00:00``."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: ledger timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def sqlite_url_for_dir(data_dir: Path) -> str:
    """The SQLite URL of the ledger database inside ``data_dir``."""
    return f"sqlite:///{Path(data_dir).resolve() / SQLITE_FILENAME}"


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


#: the lower-casing SQL function every SQLite connection of :func:`make_engine` has (Python's ``str.lower``)
SQLITE_LOWER = "caucus_lower"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for a ``sqlite:///...`` or ``postgresql+psycopg://...`` URL.

    ``postgresql://`` and ``postgres://`` URLs are read as psycopg 3 URLs. Extra keyword arguments go to
    :func:`sqlalchemy.create_engine`.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise ValueError(f"unsupported PostgreSQL driver {parsed.drivername!r}; use postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _postgres_on_connect)
        engine.dialect.do_ping = _postgres_ping  # type: ignore[method-assign]
        return engine
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            create_private_file(Path(parsed.database))
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    raise ValueError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}")


def create_private_file(path: Path) -> None:
    """Create the SQLite file (empty: a valid empty database) 0600, and its directory 0700 if missing, unless
    it exists: SQLite gives the WAL and shared-memory files the database file's mode, so the unreleased
    results and the staff password hashes are the owner's only, whatever the umask."""
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _lower(value: object) -> object:
    """SQL ``caucus_lower(text)`` on SQLite: Python's ``str.lower``, for every letter (SQLite's own ``lower``
    and ``LIKE`` fold only A-Z)."""
    return value.lower() if isinstance(value, str) else value


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Stop sqlite3 from emitting its own BEGIN/COMMIT; SQLAlchemy's "begin" event emits BEGIN instead.
    dbapi_connection.isolation_level = None
    dbapi_connection.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    try:
        for name, value in SQLITE_PRAGMAS:
            if name != "journal_mode":
                cursor.execute(f"PRAGMA {name}={value}")
        mode = _sqlite_wal(cursor)
    finally:
        cursor.close()
    if mode not in ("wal", "memory"):
        raise RuntimeError(f"SQLite refused WAL mode (journal_mode is {mode!r})")


def _sqlite_wal(cursor: Any) -> str:
    """Switch to WAL. Switching a new file needs an exclusive lock, and SQLite reports "database is
    locked" at once (no busy wait) while another connection holds one, so retry until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode in ("wal", "memory"):
            return mode
        try:
            return str(cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_on_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get(BEGIN_IMMEDIATE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif not options.get(ONE_STATEMENT):
        conn.exec_driver_sql("BEGIN")


def _postgres_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SHOW synchronous_commit")
        value = cursor.fetchone()[0]
        if value not in DURABLE_SYNCHRONOUS_COMMIT:
            cursor.execute("SET SESSION synchronous_commit TO on")
            cursor.execute("SHOW synchronous_commit")
            value = cursor.fetchone()[0]
    finally:
        cursor.close()
    dbapi_connection.commit()
    if value not in DURABLE_SYNCHRONOUS_COMMIT:
        raise RuntimeError(f"PostgreSQL synchronous_commit is {value!r}; the ledger needs it on")


def _postgres_ping(dbapi_connection: Any) -> bool:
    """The pool's check of a connection before lending it: ``SELECT 1`` outside a transaction (one round trip;
    SQLAlchemy's own ping opens a transaction, so a read then costs BEGIN, the ping, the read and ROLLBACK)."""
    if dbapi_connection.info.transaction_status.name != "IDLE":  # (in a transaction: as SQLAlchemy pings)
        dbapi_connection.cursor().execute("SELECT 1")
        return True
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("SELECT 1")
    finally:
        dbapi_connection.autocommit = False
    return True


def begin_immediate(conn: Connection) -> Connection:
    """Mark ``conn`` so that its transactions take SQLite's write lock at BEGIN (no-op on PostgreSQL)."""
    if is_sqlite(conn):
        conn.execution_options(**{BEGIN_IMMEDIATE: True})
    return conn


def one_statement(engine: Engine) -> Connection:
    """A connection for ONE read statement (``with one_statement(engine) as conn:``). On SQLite no ``BEGIN`` is
    emitted: a single statement is its own transaction and reads one snapshot, and the ``BEGIN`` (through
    SQLAlchemy's event) cost more CPU than the indexed read it wrapped. On PostgreSQL the statement runs in
    autocommit: no BEGIN and no ROLLBACK round trips around it. Never for a write, nor for several statements that
    must agree with each other."""
    conn = engine.connect()
    conn.execution_options(**({ONE_STATEMENT: True} if conn.dialect.name == "sqlite"
                              else {"isolation_level": "AUTOCOMMIT"}))
    return conn


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-write transaction that commits on success: ``BEGIN IMMEDIATE`` on SQLite."""
    with engine.connect() as conn:
        begin_immediate(conn)
        with conn.begin():
            yield conn


class RawRead:
    """A read statement built once with SQLAlchemy Core and run straight on the pool's DB-API connection: the SQL is
    compiled once per dialect, and each run is a pool checkout, one cursor ``execute`` and the columns' own result
    processors (the same types as through SQLAlchemy), without SQLAlchemy's per-execution machinery (execution
    context, events, result metadata), which cost several times the indexed read itself (issue 15: about 0.08 ms of
    the 0.13 ms of a stage report's read on SQLite). One statement, as :func:`one_statement` runs it: no ``BEGIN`` on
    SQLite, autocommit on PostgreSQL. Errors are SQLAlchemy's (``sqlalchemy.exc.DBAPIError`` and its subclasses), and a
    connection the database dropped is invalidated, as through SQLAlchemy. Only for statements without expanding
    (``IN``-list) parameters; rows are named tuples of the selected columns' keys."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.row: Any = namedtuple("Row", [column.key for column in statement.selected_columns])  # type: ignore[misc]
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
            binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                     for name, bind in compiled.binds.items()}
            results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in self.statement.selected_columns]
            found = _Compiled(compiled.string, compiled.positiontup, fixed,
                              {name: f for name, f in binds.items() if f is not None}, results)
            self._by_dialect[dialect.name] = found
        return found

    def all(self, engine: Engine, params: dict[str, Any]) -> list[Any]:
        """Every row of the statement with ``params`` (the bound parameters by name)."""
        dialect = engine.dialect
        compiled = self._compiled(dialect)
        values = {**compiled.fixed, **params}
        for name, process in compiled.binds.items():
            values[name] = process(values[name])
        args: Any = [values[name] for name in compiled.positional] if compiled.positional is not None else values
        connection = engine.raw_connection()
        dbapi = connection.dbapi_connection
        postgres = dialect.name != "sqlite"
        cursor = None
        try:
            if postgres:
                dbapi.autocommit = True  # type: ignore[union-attr]
            cursor = connection.cursor()
            cursor.execute(compiled.sql, args)
            fetched = cursor.fetchall()
        except dialect.loaded_dbapi.Error as exc:
            dropped = dialect.is_disconnect(exc, dbapi, cursor)
            if dropped:
                connection.invalidate(exc)
            raise DBAPIError.instance(compiled.sql, args, exc, dialect.loaded_dbapi.Error,
                                      connection_invalidated=dropped, dialect=dialect) from exc
        finally:
            if cursor is not None:
                cursor.close()
            if postgres and connection.dbapi_connection is not None:
                connection.dbapi_connection.autocommit = False
            connection.close()
        processors = compiled.results
        make = self.row._make
        return [make([value if process is None or value is None else process(value)
                      for process, value in zip(processors, row, strict=True)]) for row in fetched]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: Sequence[str] | None
    fixed: dict[str, Any]
    binds: dict[str, Callable[[Any], Any]]
    results: Sequence[Callable[[Any], Any] | None]
