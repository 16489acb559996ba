"""Helpers shared by the web tests: a controllable clock, a signed-in chair, real precinct numbers."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

SLUG = "ia-2020-web"
#: 7 pm Central on caucus night (3 February 2020)
START = datetime(2020, 2, 4, 1, 0, tzinfo=UTC)

GRINNELL = "Poweshiek/7"  # "2ND WARD - 07.07GR", D = 17; RULES.md §13.3 R1
GRINNELL_FIRST = {
    "Bennet": 1, "Biden": 27, "Buttigieg": 49, "Gabbard": 2, "Klobuchar": 54, "Other": 3, "Sanders": 66,
    "Steyer": 2, "Uncommitted": 2, "Warren": 115, "Yang": 7,
}
GRINNELL_FINAL = {"Buttigieg": 55, "Klobuchar": 70, "Sanders": 78, "Warren": 124}
GRINNELL_DELEGATES = {"Buttigieg": 3, "Klobuchar": 4, "Sanders": 4, "Warren": 6}
GRINNELL_SDE = {"Buttigieg": "0.4200", "Klobuchar": "0.5600", "Sanders": "0.5600", "Warren": "0.8400"}

READLYN = "Bremer/RD"  # D = 4, five viable groups; Sanders and Warren tied smallest: RULES.md §13.3 R14
READLYN_COUNTS = {"Biden": 7, "Buttigieg": 11, "Klobuchar": 7, "Sanders": 6, "Warren": 6}

#: precincts given a credential in every test database (Adair ones for lockout and limit tests)
SATELLITE = "CD1 Satellite/1140"  # Cedar Rapids Public Library: D follows attendance (IA-5.2)
WITH_CREDENTIALS = (GRINNELL, READLYN, SATELLITE, *(f"Adair/{c}" for c in ("01NW", "02NE", "03SW", "04SE", "05GF")),
                    *(f"Adams/AD{n}" for n in range(1, 6)))

STAGES = [
    ("attendance", {"attendance": 328}),
    ("first", {"counts": GRINNELL_FIRST}),
    ("final", {"counts": GRINNELL_FINAL}),
    ("delegates", {"delegates": GRINNELL_DELEGATES}),
]


class Clock:
    """A clock the tests move by hand (thread-safe: the writer thread reads it too)."""

    def __init__(self, now: datetime = START) -> None:
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


@dataclass
class Chair:
    """A signed-in chair: posts reports with its bearer token."""

    client: TestClient
    precinct: str
    token: str
    keys: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def report(self, body: dict[str, Any], key: str | None = None, **headers: str) -> Response:
        key = key if key is not None else str(uuid.uuid4())
        self.keys.append(key)
        return self.client.post("/api/v1/reports", json=body, headers={**self.auth, "Idempotency-Key": key,
                                                                        **headers})

    def stage(self, stage: str, numbers: dict[str, Any], key: str | None = None, **extra: Any) -> Response:
        return self.report({"stage": stage, **numbers, **extra}, key)

    def status(self) -> Response:
        return self.client.get("/api/v1/precinct", headers=self.auth)


def assert_error(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error in the one shape; returns its ``error`` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"] == error["code"].lower() and " " not in error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in error["message"] and 'File "' not in error["message"]
    assert isinstance(error["fields"], list)
    for item in error["fields"]:
        assert set(item) == {"field", "code", "message"}, item
        assert all(isinstance(item[k], str) and item[k] for k in item), item
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def fields_of(error: dict[str, Any]) -> dict[str, str]:
    """field -> code of an error's field problems."""
    return {item["field"]: item["code"] for item in error["fields"]}
