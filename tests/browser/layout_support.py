"""Helpers of the browser tests that check a page reads on a small screen: no sideways scrolling, no word or
number broken across lines, nothing wider than the viewport, the sticky save bar small and never over the
focused field. Everything is measured in the page as Chromium laid it out (getClientRects of text ranges)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Locator, Page

# Every word (run of non-space characters) of the element's text, as laid out: how many line boxes each word
# takes (2 or more: the word or number is broken across lines, "Firs/t", "0.3 33 3"), and how many lines the
# whole text takes (a word starts a new line when its box lies below the line so far).
_LAYOUT_OF_TEXT = """(element) => {
  const words = [];
  const boxes = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
      words.push({word: match[0], boxes: rects.length});
      boxes.push(...rects.map((r) => ({top: r.top, bottom: r.bottom})));
    }
  }
  boxes.sort((a, b) => a.top - b.top);
  let lines = 0, bottom = -Infinity;
  for (const box of boxes) {
    if (box.top >= bottom - 2) { lines += 1; bottom = box.bottom; } else { bottom = Math.max(bottom, box.bottom); }
  }
  return {text: element.innerText.trim(), words, lines};
}"""

_TOO_WIDE = """(root) => {
  const width = document.documentElement.clientWidth;
  return [root, ...root.querySelectorAll('*')].filter((e) => e.getClientRects().length > 0).filter((e) => {
    const r = e.getBoundingClientRect();
    return r.left < -0.5 || r.right > width + 0.5 || e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0
      && getComputedStyle(e).overflowX !== 'visible';
  }).map((e) => `${e.tagName.toLowerCase()}${e.className ? '.' + e.className : ''}: ` +
                `${(e.innerText || '').trim().slice(0, 30)}`);
}"""


@dataclass(frozen=True)
class TextLayout:
    text: str
    broken: list[str]  # words laid out over more than one line box
    lines: int


def _layout(got: dict[str, Any]) -> TextLayout:
    return TextLayout(got["text"], [w["word"] for w in got["words"] if w["boxes"] != 1], got["lines"])


def text_layout(element: Locator) -> TextLayout:
    return _layout(element.evaluate(_LAYOUT_OF_TEXT))


def layouts_of_all(elements: Locator) -> list[TextLayout]:
    """The layout of every element the locator matches, measured in one pass of the page's script: a snapshot
    of one rendering, which an app re-rendering the screen (a receipt arriving) cannot split in two."""
    got: list[dict[str, Any]] = elements.evaluate_all(f"(all) => all.map({_LAYOUT_OF_TEXT})")
    return [_layout(one) for one in got]


def assert_all_words_whole(elements: Locator, where: str) -> list[TextLayout]:
    """No word of any matched element's text is broken across lines, measured on one rendering."""
    layouts = layouts_of_all(elements)
    assert layouts, f"{where}: nothing to measure"
    for got in layouts:
        assert got.broken == [], f"{where}: words broken across lines in {got.text!r}: {got.broken}"
    return layouts


def assert_one_line(element: Locator, expected: str, where: str) -> None:
    """The element reads ``expected``, on one line, no word of it broken."""
    got = text_layout(element)
    assert got.text == expected, f"{where}: {got.text!r}, expected {expected!r}"
    assert got.broken == [] and got.lines == 1, f"{where}: {got.text!r} laid out on {got.lines} lines"


def assert_words_whole(element: Locator, where: str) -> TextLayout:
    """No word of the element's text is broken across lines (a label may wrap between its words)."""
    got = text_layout(element)
    assert got.broken == [], f"{where}: words broken across lines in {got.text!r}: {got.broken}"
    return got


def assert_no_sideways_scroll(page: Page, where: str) -> None:
    width = page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert width[0] <= width[1], f"{where}: the page is {width[0]} px wide in a {width[1]} px viewport"


def assert_within_viewport(region: Locator, where: str) -> None:
    """No element of ``region`` sticks out of the viewport or scrolls sideways inside its own box."""
    wide = region.evaluate(_TOO_WIDE)
    assert wide == [], f"{where}: wider than the viewport: {wide}"
