"""Inline SVG charts rendered on the server (no JavaScript, no third-party code)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from caucus.plans import PlanSettings

WIDTH, HEIGHT, PAD = 640, 220, 36


def line_chart(points: Sequence[tuple[datetime, int]], *, total: int, label: str, settings: PlanSettings) -> str:
    """A step line of a count over time, with the y axis from 0 to ``total``; an empty chart says so. Times
    are the plan's local ones (``settings``)."""
    title = f'<title>{escape(label)}</title>'
    if not points:
        return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">{title}'
                f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">nothing reported yet</text></svg>')
    start, end = points[0][0], points[-1][0]
    span = max((end - start).total_seconds(), 1.0)
    top = max(total, 1)

    def x(at: datetime) -> float:
        return PAD + (WIDTH - 2 * PAD) * (at - start).total_seconds() / span

    def y(count: int) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * count / top

    path = " ".join(f"{x(at):.1f},{y(n):.1f}" for at, n in points)
    last_at, last_n = points[-1]
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">{title}'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{top}</text>'
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end">0</text>'
        f'<text x="{PAD}" y="{HEIGHT - 10}">{escape(settings.clock(start))}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 10}" text-anchor="end">{escape(settings.clock(last_at))}</text>'
        f'<polyline points="{path}" class="series"/>'
        f'<text x="{x(last_at):.1f}" y="{y(last_n) - 6:.1f}" text-anchor="end">{last_n}</text></svg>'
    )
