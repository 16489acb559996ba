"""HQ over HTTPS on a real host name, the way staff reach it on the night: Chromium resolves ``caucus.test`` to
127.0.0.1 (a host-resolver rule), the shipped nginx config serves it with a throwaway certificate in front of
a real uvicorn whose staff cookie is Secure (the production default). Typing the http address lands on https,
the sign-in works, the cookie is Secure, and neither HQ, the public site nor the API docs break their
Content-Security-Policy or load anything from another origin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Playwright

from caucus.rehearse.browser import CHROMIUM, CHROMIUM_ARGS
from caucus.rehearse.nginx import NginxProcess
from tests.browser.conftest import SLUG, LiveServer
from tests.browser.hq_support import add_staff
from tests.hq.support import PASSWORD

HOST = "caucus.test"


@pytest.fixture(scope="module")
def resolving_chromium(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"])
    yield browser
    browser.close()


def test_hq_sign_in_over_https_on_a_host_name(resolving_chromium: Browser,
                                              live_server: Callable[..., LiveServer]) -> None:
    server = live_server(["Poweshiek/7"])  # the staff cookie stays Secure, as in production
    add_staff(server, ("dee", "director"))
    proxy = NginxProcess(server.data_dir / "snapshots" / SLUG, server.base_url.removeprefix("http://"), tls=True)
    proxy.start()
    context = resolving_chromium.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        problems: list[str] = []
        elsewhere: list[str] = []

        def console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                problems.append(message.text)

        page.on("console", console)
        page.on("request", lambda request: elsewhere.append(request.url)
                if urlsplit(request.url).hostname != HOST else None)
        origin = f"https://{HOST}:{proxy.port}"

        page.goto(f"http://{HOST}:{proxy.http_port}/hq/sign-in")
        assert page.url == f"{origin}/hq/sign-in"  # http lands on https
        page.get_by_label("Username").fill("dee")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{origin}/hq")
        assert page.get_by_role("button", name="Sign out").is_visible()
        cookies = [c for c in context.cookies() if c["domain"] == HOST]
        assert cookies and all(c["secure"] for c in cookies), cookies

        page.goto(f"{origin}/api/v1/docs")
        page.locator(".opblock").first.wait_for()
        assert "/api/v1/reports" in page.locator("#swagger-ui").inner_text()

        page.goto(f"{origin}/")
        page.get_by_role("link", name="Media feed").wait_for()
        assert problems == [] and elsewhere == [], (problems, elsewhere)
    finally:
        context.close()
        proxy.stop()
