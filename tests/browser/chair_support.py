"""Helpers for the chair app's browser tests: real 2020 precincts, driving the app's screens, axe-core, the
ledger as the server wrote it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from caucus.audit import audit
from caucus.ledger import entries, make_engine
from caucus.ledger.model import LedgerEntry
from caucus.packaged import certified_results
from caucus.plans import load_plan
from caucus.results_csv import read_results
from caucus.rules import ChanceOutcome
from tests.browser.conftest import SLUG, LiveServer

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
CERTIFIED = certified_results()


@dataclass(frozen=True)
class RealPrecinct:
    """One precinct as the party published it (certified results), and what the audit recomputes."""

    code: str
    kind: str
    delegates_to_elect: int
    attendance: int
    first: dict[str, int]
    final: dict[str, int]
    published: dict[str, int]
    verdict: str
    chance: tuple[ChanceOutcome, ...]


@functools.cache
def _audited() -> dict[str, Any]:
    plan = load_plan("iowa-2020")
    report = audit(plan, read_results(CERTIFIED, plan=plan))
    return {u.code: u for u in report.units}


def real_precinct(code: str) -> RealPrecinct:
    unit = _audited()[code]
    nonzero = lambda counts: {g: n for g, n in counts.items() if n}  # noqa: E731
    return RealPrecinct(
        code=code, kind=unit.kind, delegates_to_elect=unit.delegates_to_elect, attendance=unit.attendance,
        first=nonzero(unit.first), final=nonzero(unit.final), published=nonzero(unit.reported_delegates),
        verdict=unit.result.verdict, chance=tuple(unit.result.inferred_chance or ()),
    )


def ledger(server: LiveServer, code: str) -> list[LedgerEntry]:
    engine = make_engine(server.url)
    try:
        return entries(engine, SLUG, code)
    finally:
        engine.dispose()


def open_app(page: Page, server: LiveServer, code: str | None = None) -> None:
    query = f"?precinct={code}" if code else ""
    page.goto(f"{server.base_url}/chair{query}")
    expect(page.locator("body[data-ready=true]")).to_be_attached()


def sign_in(page: Page, server: LiveServer, code: str, credential: str | None = None) -> None:
    page.get_by_label("Precinct code").fill(code)
    page.get_by_label("Credential", exact=True).fill(credential or server.secrets[code])
    page.get_by_role("button", name="Sign in", exact=True).click()


def enter_counts(page: Page, which: str, counts: dict[str, int]) -> None:
    """Type each group's count into the screen's boxes (found by their labels); clear the others."""
    box = page.locator(f"#{which}-groups")
    for row in box.locator("input").all():
        group = row.get_attribute("data-group") or ""
        row.fill(str(counts[group]) if group in counts else "")


def send(page: Page, name: str) -> None:
    page.get_by_role("button", name=name).click()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is (WCAG 2.1 A/AA rules)."""
    if not page.evaluate("() => Boolean(window.axe)"):
        # evaluated through the DevTools protocol: the app's Content-Security-Policy (no inline scripts)
        # stays in force for the page itself
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
      return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5)}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def check_screen(page: Page, shot: Any, name: str) -> None:
    """A screenshot of the screen for the docs, and no serious or critical accessibility violation."""
    shot(page, name)
    assert axe_violations(page) == [], name


def wait_sent(page: Page, count: int) -> None:
    """Until the status bar says nothing is waiting and ``count`` reports hold a receipt."""
    expect(page.locator("#savebar")).to_contain_text("Nothing waiting to send", timeout=20_000)
    page.get_by_role("button", name="Status and messages").click()
    expect(page.locator("#outbox-list li.state-sent")).to_have_count(count, timeout=20_000)
