"""A real nginx (``/usr/sbin/nginx``) in the foreground with a temporary prefix, serving
``deploy/nginx/caucus.conf`` on 127.0.0.1 (tests, the rehearsal and benchmarks).

Only the lines of caucus.conf marked ``deploy:`` are rewritten (:func:`render`): the listen addresses, the
snapshot directory, the app's address, the page cache directory, the certificate and key, and the addresses
exempt from the per-address limits. Everything else runs as shipped.

- ``tls=True``: HTTPS with a throwaway self-signed certificate made here by the openssl command for
  ``caucus.test``, ``localhost`` and ``127.0.0.1`` (``cert`` is its path, for a client to trust), and the plain
  http server that redirects to it (``http_url``).
- ``tls=False`` (the default): the same server over plain http, without the certificate lines (clients on
  loopback that cannot trust a throwaway certificate: the rehearsal, the feed benchmark); the redirect server
  listens on a spare port nobody uses.

``unlimited`` lists addresses exempt from the per-address limits: the rehearsal runs every phone from
127.0.0.1, so the limits would measure nothing but themselves there (they are measured by
benchmarks/bench_flood.py and tests/publish/test_nginx_tls.py).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from caucus.packaged import packaged_path
from caucus.rehearse.server import free_port

NGINX = os.environ.get("CAUCUS_NGINX", "/usr/sbin/nginx")
OPENSSL = os.environ.get("CAUCUS_OPENSSL", "openssl")
#: the shipped config: package data (caucus/deploy/nginx/caucus.conf), there in a wheel as in a checkout
CONF = packaged_path("deploy", "nginx", "caucus.conf")
#: the names the throwaway certificate is good for
TLS_NAMES = ("caucus.test", "localhost")


def _sub(conf: str, pattern: str, value: str) -> str:
    conf, count = re.subn(pattern, lambda _: value, conf)
    if count != 1:
        raise ValueError(f"caucus.conf: expected one line matching {pattern!r}, found {count}")
    return conf


def render(conf: str, *, port: int, root: Path, app: str, http_port: int, cache: Path,
           tls: tuple[Path, Path] | None = None, unlimited: Iterable[str] = ()) -> str:
    """caucus.conf with its ``deploy:`` lines set. ``tls``: (certificate, key), else plain http."""
    listen = f"listen 127.0.0.1:{port} ssl http2;" if tls else f"listen 127.0.0.1:{port};"
    conf = _sub(conf, r"listen 443 ssl http2;[^\n]*", listen)
    conf = _sub(conf, r"listen 80;[^\n]*", f"listen 127.0.0.1:{http_port};")
    conf = _sub(conf, r"return 301 https://\$host\$request_uri;", f"return 301 https://$host:{port}$request_uri;")
    conf = _sub(conf, r"root /var/lib/caucus/snapshots/iowa-2020;[^\n]*", f"root {root};")
    conf = _sub(conf, r"server 127\.0\.0\.1:8000;[^\n]*", f"server {app};")
    conf = _sub(conf, r"proxy_cache_path /var/cache/nginx/caucus [^\n]*",
                f"proxy_cache_path {cache} levels=1:2 keys_zone=caucus_page_cache:10m max_size=256m inactive=10m "
                "use_temp_path=off;")
    conf = _sub(conf, r"# deploy: exempt addresses[^\n]*", "".join(f"{a} 1; " for a in unlimited))
    certificate, key = tls if tls else (None, None)
    conf = _sub(conf, r"ssl_certificate [^\n]*", f"ssl_certificate {certificate};" if certificate else "")
    conf = _sub(conf, r"ssl_certificate_key [^\n]*", f"ssl_certificate_key {key};" if key else "")
    return conf


def make_certificate(directory: Path, names: Iterable[str] = TLS_NAMES) -> tuple[Path, Path]:
    """A throwaway self-signed certificate (EC P-256, 2 days) and its key, for ``names`` and 127.0.0.1."""
    certificate, key = directory / "throwaway.crt", directory / "throwaway.key"
    names = list(names)
    alt = ",".join([*(f"DNS:{n}" for n in names), "IP:127.0.0.1"])
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={alt}",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    return certificate, key


class NginxProcess:
    def __init__(self, root: Path, app: str, *, extra: str = "", workers: int = 1, tls: bool = False,
                 unlimited: Iterable[str] = ()) -> None:
        self.root = Path(root)
        self.app = app
        self.extra = extra
        self.workers = workers
        self.tls = tls
        self.unlimited = tuple(unlimited)
        self.port = free_port()
        self.http_port = free_port()
        self.prefix = Path(tempfile.mkdtemp(prefix="caucus-nginx-"))
        self.cert: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client passes as ``verify=`` to trust this nginx (its throwaway certificate)."""
        return ssl.create_default_context(cafile=str(self.cert)) if self.cert is not None else True

    @property
    def http_url(self) -> str:
        """The plain http server (it only redirects to https)."""
        return f"http://127.0.0.1:{self.http_port}"

    def config(self) -> str:
        tls = None
        if self.tls:
            tls = make_certificate(self.prefix)
            self.cert = tls[0]
        server = render(CONF.read_text(), port=self.port, root=self.root, app=self.app, http_port=self.http_port,
                        cache=self.prefix / "cache", tls=tls, unlimited=self.unlimited)
        temp = self.prefix
        # as root, nginx would run its workers as "nobody", who cannot read a private temporary directory
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
        return f"""daemon off;
{user}worker_processes {self.workers};
pid {temp}/nginx.pid;
error_log {temp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{server}
{self.extra}
}}
"""

    def start(self, timeout: float = 20.0) -> None:
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config())
        self.process = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(conf), "-e",
                                         str(self.prefix / "error.log")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1, verify=self.verify()) as client:  # one client: one CA store load
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"nginx exited: {self.log()}")
                try:
                    client.get(f"{self.base_url}/feed/v1/latest.json")
                    return
                except httpx.TransportError:
                    time.sleep(0.05)
        raise RuntimeError(f"nginx did not answer on {self.base_url}: {self.log()}")

    def log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> NginxProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
