"""A real nginx (``/usr/sbin/nginx``) in the foreground with a temporary prefix, serving
``deploy/nginx/caucus.conf`` on 127.0.0.1 (tests and benchmarks).

The deployment-specific lines of caucus.conf (marked ``deploy:``) are rewritten: the listen address, the
snapshot directory and the app's address. ``extra`` adds server blocks (the benchmark's static baseline).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from caucus.packaged import packaged_path
from caucus.rehearse.server import free_port

NGINX = os.environ.get("CAUCUS_NGINX", "/usr/sbin/nginx")
#: the shipped config: package data (caucus/deploy/nginx/caucus.conf), there in a wheel as in a checkout
CONF = packaged_path("deploy", "nginx", "caucus.conf")


def render(conf: str, *, port: int, root: Path, app: str) -> str:
    """caucus.conf with its three ``deploy:`` lines set."""
    for pattern, value in ((r"listen 80;[^\n]*", f"listen 127.0.0.1:{port};"),
                           (r"root /var/lib/caucus/snapshots/iowa-2020;[^\n]*", f"root {root};"),
                           (r"server 127\.0\.0\.1:8000;[^\n]*", f"server {app};")):
        conf, count = re.subn(pattern, value, conf)
        if count != 1:
            raise ValueError(f"caucus.conf: expected one line matching {pattern!r}, found {count}")
    return conf


class NginxProcess:
    def __init__(self, root: Path, app: str, *, extra: str = "", workers: int = 1) -> None:
        self.root = Path(root)
        self.app = app
        self.extra = extra
        self.workers = workers
        self.port = free_port()
        self.prefix = Path(tempfile.mkdtemp(prefix="caucus-nginx-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        server = render(CONF.read_text(), port=self.port, root=self.root, app=self.app)
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
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log()}")
            try:
                httpx.get(f"{self.base_url}/feed/v1/latest.json", timeout=1)
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
