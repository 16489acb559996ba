"""The browser harness itself: Debian's Chromium loads a page from a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from tests.browser.conftest import LiveServer


def test_chromium_reads_the_api_health_from_a_live_server(
    live_server: Callable[..., LiveServer], phone: Page
) -> None:
    running = live_server(["Adair/01NW"])
    response = phone.goto(f"{running.base_url}/api/v1/health")
    assert response is not None and response.status == 200
    assert phone.evaluate("() => JSON.parse(document.body.innerText)") == {
        "ok": True, "database": "reachable", "election": "iowa-2020-browser"}
    assert set(running.secrets) == {"Adair/01NW"}
