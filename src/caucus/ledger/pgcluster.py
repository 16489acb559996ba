"""A throwaway PostgreSQL cluster on loopback, for tests, benchmarks and rehearsals.

``local_cluster()`` starts one with ``initdb``/``pg_ctl`` (``/usr/lib/postgresql/*/bin`` or PATH; as root
it runs them as the ``postgres`` user) listening on 127.0.0.1 on a free port, and removes it at the end.
``PostgresServer`` creates and drops uniquely named databases on a server.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

__all__ = ["PostgresServer", "local_cluster"]


class PostgresServer:
    """A PostgreSQL server on which the tests may create and drop databases."""

    def __init__(self, url: URL) -> None:
        self.url = url.set(drivername="postgresql+psycopg")
        self.prefix = f"caucus_test_{secrets.token_hex(4)}"
        self._count = 0

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            self.url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
        )

    def create_database(self, template: str | None = None) -> str:
        """Create an empty database (or a copy of ``template``); return its SQLAlchemy URL."""
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        with self._admin() as conn:
            names = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (self.prefix + "%",)
            ).fetchall()
            for (name,) in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise RuntimeError("initdb/pg_ctl not found in /usr/lib/postgresql/*/bin or on PATH")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalCluster:
    """A throwaway cluster started by :func:`managed_cluster`: its ``url``, and :meth:`restart`."""

    def __init__(self, run: Callable[..., None], bindir: Path, data: Path, *, log: Path, options: str,
                 url: URL) -> None:
        self._run, self._bindir, self._data, self._log, self._options = run, bindir, data, log, options
        self.url = url

    def start(self) -> None:
        self._run(str(self._bindir / "pg_ctl"), "-D", str(self._data), "-l", str(self._log), "-w", "-t", "60",
                  "-o", self._options, "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self._bindir / "pg_ctl"), "-D", str(self._data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: like a crash, no checkpoint) and start it again."""
        self.stop(mode)
        self.start()


@contextlib.contextmanager
def managed_cluster() -> Iterator[LocalCluster]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (run as the postgres user when root), removed at exit."""
    bindir = _pg_bindir()
    run_as: list[str] = []
    root = tempfile.mkdtemp(prefix="caucus-pg-")
    try:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "postgres"], check=True, capture_output=True)
            shutil.chown(root, "postgres", None)
            run_as = ["runuser", "-u", "postgres", "--"]
        data, port = Path(root) / "data", _free_port()

        def run(*args: str) -> None:
            done = subprocess.run([*run_as, *args], cwd=root, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}")

        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-locale", "--no-sync")  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=200"
        url = URL.create("postgresql", username="postgres", host="127.0.0.1", port=port, database="postgres")
        cluster = LocalCluster(run, bindir, data, log=Path(root) / "log", options=options, url=url)
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def local_cluster() -> Iterator[URL]:
    """The URL of a throwaway cluster (see :func:`managed_cluster`)."""
    with managed_cluster() as cluster:
        yield cluster.url
