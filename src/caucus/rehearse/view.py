"""The live terminal view of a rehearsal (Rich): progress of the night as the clients and the public see it."""

from __future__ import annotations

import time

from rich.console import Group
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from caucus.rehearse.run import Progress


def render(progress: Progress) -> Panel:
    tally = progress.tally
    elapsed = time.monotonic() - tally.started
    recent = [s.latency for s in tally.sent[-500:] if s.latency is not None]
    recent.sort()
    p50 = recent[len(recent) // 2] * 1000 if recent else 0.0
    p99 = recent[min(len(recent) - 1, int(len(recent) * 0.99))] * 1000 if recent else 0.0
    acked = tally.precincts_fully_acknowledged()
    published = progress.published.reporting if progress.published else 0
    expected = max(progress.expected, 1)
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column()
    table.add_row("phase", f"{progress.phase}  ({elapsed:,.0f} s)")
    table.add_row("chairs done", f"{tally.chairs_done:,} / {tally.chairs_total:,}")
    table.add_row("reports acknowledged", f"{tally.acked_count:,} of {len(tally.sent):,} sent")
    table.add_row("precincts reported", Group(ProgressBar(total=expected, completed=acked, width=40),
                                               Text(f"{acked:,} / {progress.expected:,}")))
    table.add_row("precincts published", Group(ProgressBar(total=expected, completed=published, width=40),
                                                Text(f"{published:,} / {progress.expected:,}" + (
                                                    f"  (release {progress.published.release})"
                                                    if progress.published else ""))))
    table.add_row("latency (last 500)", f"p50 {p50:,.0f} ms   p99 {p99:,.0f} ms")
    if progress.desk is not None:
        table.add_row("hotline", f"{progress.desk.in_call} on a call now, {progress.desk.on_hold} on hold, "
                                 f"{progress.desk.calls} calls taken")
    errors = ", ".join(f"{k} x{v}" for k, v in sorted(tally.errors.items())) or "none"
    table.add_row("errors seen", errors)
    events = [w for _, w in tally.events[-4:]]
    table.add_row("latest", "\n".join(events) or "-")
    return Panel(table, title="caucus rehearse", border_style="blue")
