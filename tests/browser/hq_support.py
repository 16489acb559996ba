"""Helpers of the HQ browser tests: staff accounts made in the live server's SQLite database through the
real StaffService, a staff sign-in through the page, a chair reporting over the real HTTP API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser, Page

from caucus.ledger import make_engine
from caucus.service.staff import StaffService
from tests.browser.conftest import LiveServer
from tests.hq.support import FAST_HASHER, PASSWORD

#: staff cookies over the live server's plain http (production keeps them Secure)
HQ_ENV = {"CAUCUS_STAFF_COOKIE_SECURE": "false"}


def add_staff(server: LiveServer, *accounts: tuple[str, str]) -> None:
    engine = make_engine(server.url)
    try:
        service = StaffService(engine, hasher=FAST_HASHER)
        for username, role in accounts:
            service.add_user(username, username.title(), role, PASSWORD, actor="test")
    finally:
        engine.dispose()


def staff_page(browser: Browser, server: LiveServer, username: str) -> Page:
    """A new desktop browser context signed in as ``username`` (dialogs are accepted)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server.base_url}/hq/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.base_url}/hq")
    return page


def chair_reports(server: LiveServer, precinct: str, stages: list[tuple[str, dict[str, Any]]]) -> None:
    """The precinct's chair reports stages through the app's API."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        token = client.post("/api/v1/session", json={"precinct": precinct,
                                                     "credential": server.secrets[precinct]}).json()["token"]
        for stage, numbers in stages:
            response = client.post("/api/v1/reports", json={"stage": stage, **numbers},
                                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
            assert response.status_code == 201, response.text


def hotline_call(page: Page, server: LiveServer, precinct: str) -> None:
    """Verify the caller on the hotline console."""
    page.goto(f"{server.base_url}/hq/hotline")
    page.get_by_label("Precinct code").fill(precinct)
    page.get_by_label("Hotline code").fill(server.hotline_codes[precinct])
    page.get_by_role("button", name="Verify caller").click()
    page.wait_for_url("**/hq/hotline/calls/*")
