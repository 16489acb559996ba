"""HQ test helpers: staff accounts made through the real StaffService (cheap argon2id parameters), staff who
sign in through the real sign-in form and then send their session cookie and CSRF token explicitly."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from caucus.service.staff import StaffService

#: argon2id with tiny costs: tests only
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


def add_staff(engine: Engine, username: str, role: str, password: str = PASSWORD) -> None:
    StaffService(engine, hasher=FAST_HASHER).add_user(username, username.title(), role, password, actor="test")


def sign_in_response(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> Response:
    client.cookies.clear()
    form = client.get("/hq/sign-in")
    token = LOGIN.search(form.text)
    assert token is not None, form.text
    return client.post("/hq/sign-in", data={"username": username, "password": password,
                                            "login_token": token.group(1), **extra}, follow_redirects=False)


@dataclass
class Staffer:
    """A signed-in staff member; requests carry the session cookie (and, for forms, the CSRF token)."""

    client: TestClient
    username: str
    token: str
    csrf: str = ""
    keys: list[str] = field(default_factory=list)

    @property
    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"caucus_hq={self.token}"}

    def get(self, path: str, **kwargs: Any) -> Response:
        self.client.cookies.clear()
        return self.client.get(path, headers=self.cookie, follow_redirects=False, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Response:
        self.client.cookies.clear()
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=body, headers=self.cookie, follow_redirects=False, **kwargs)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Staffer:
    response = sign_in_response(client, username, password)
    assert response.status_code == 303, response.text
    token = response.cookies["caucus_hq"]
    client.cookies.clear()
    staffer = Staffer(client, username, token)
    home = staffer.get("/hq")
    assert home.status_code == 200, home.text
    match = CSRF.search(home.text)
    assert match is not None
    staffer.csrf = match.group(1)
    return staffer


def play_random(rng: random.Random, operations: Sequence[Callable[[int], object]], steps: int,
                refused: tuple[type[BaseException], ...], after: Callable[[], Iterable[str] | None]) -> set[str]:
    """``steps`` operations drawn by ``rng``; an operation that raises one of ``refused`` changed nothing. After each,
    ``after()`` checks the maintained state and may name what it saw. The names of the operations done (not
    refused) and of what ``after`` saw."""
    done: set[str] = set()
    for n in range(steps):
        operation = operations[rng.randrange(len(operations))]
        try:
            operation(n)
            done.add(operation.__name__)
        except refused:
            pass  # refused (out of order, a bad sign-in, nothing to accept, ...): the state must still be right
        done.update(after() or ())
    return done
