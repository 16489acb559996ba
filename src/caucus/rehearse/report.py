"""The rehearsal's report: a JSON document (schema ``caucus.rehearsal/1``), a terminal summary and an
HTML page with plots (inline SVG, no JavaScript), all from one :func:`summary`."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from caucus.rehearse.run import Outcome


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def summary(outcome: Outcome) -> dict[str, Any]:
    config, tally, ledger = outcome.config, outcome.tally, outcome.ledger
    latencies = tally.latencies()
    reports = [s for s in tally.sent if s.kind in ("report", "correction", "miscount", "corrections")]
    return {
        "schema": "caucus.rehearsal/1",
        "ok": outcome.ok,
        "truth": {"source": config.truth.source, "plan": config.truth.plan, "units": len(config.truth.precincts),
                  "to_publish": outcome.expected, "held_unpublished": len(config.truth.precincts) - outcome.expected,
                  "left_out": config.truth.left_out,
                  "early_ballots": None if config.truth.early is None else {
                      "ballots": config.truth.early.ballots, "void": config.truth.early.void,
                      "precincts": config.truth.early.precincts, "without": config.truth.early.without}},
        "setup": {"engine": config.engine, "workers": config.workers, "nginx": config.nginx,
                  "night_seconds": config.timeline.duration,
                  "seed": config.seed, "connections": config.connections, "kills": list(config.kills),
                  "pg_restarts": list(config.pg_restarts), "slow": list(config.slow) if config.slow else None},
        "reports": {
            "sent": len(reports), "acknowledged": ledger.acknowledged, "lost": ledger.lost,
            "duplicates": ledger.duplicates, "recorded_unacknowledged": ledger.recorded_unacknowledged,
            "attempts": sum(s.attempts for s in tally.sent), "replays_answered": sum(s.replays for s in tally.sent),
            "refused": ledger.refused, "unexpected_refusals": ledger.unexpected_refusals[:20],
            "ledger_rows": ledger.rows, "chain_verified": ledger.chain_ok,
            "content_mismatches": ledger.content_mismatches[:20],
            "unpublished": ledger.unpublished[:20],
            "photos": {"acknowledged": ledger.photos_acknowledged, "lost": ledger.photos_lost},
        },
        "latency_seconds": {"p50": _quantile(latencies, 0.50), "p95": _quantile(latencies, 0.95),
                            "p99": _quantile(latencies, 0.99), "max": latencies[-1] if latencies else None},
        # the figures of issue 15: what a chair waits for a receipt, requests never answered in time, and
        # what each acknowledged report cost the load generator and the server (CPU from /proc)
        "receipt_latency_ms": {"p50": _ms(_quantile(latencies, 0.50)), "p99": _ms(_quantile(latencies, 0.99))},
        "timeouts": tally.timeouts,
        "cost": outcome.cost,
        "errors_seen_by_clients": dict(sorted(tally.errors.items())),
        "published": None if outcome.published is None else {
            "release": outcome.published.release, "reporting": outcome.published.reporting,
            "total": outcome.published.total, "status": outcome.published.status, "test": outcome.published.test},
        "last_report_to_fully_published_seconds": outcome.last_ack_to_published,
        "totals": outcome.totals,
        "wall_seconds": round(outcome.wall, 1),
        "behaviours": [v.as_dict() for v in outcome.behaviours],
        "events": [{"t": round(t, 2), "what": w} for t, w in tally.events if not w.endswith("refused (422)")][:200],
        "samples": tally.samples,
    }


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str)


def _cost_rows(cost: dict[str, Any]) -> list[tuple[str, str]]:
    if not cost:
        return []

    def per(key: str) -> str:
        return "-" if cost.get(key) is None else f"{cost[key]:.2f} ms"

    return [("night (first chair to last done)", f"{cost['night_wall_seconds']} s"),
            ("server CPU per acknowledged report", per("server_cpu_ms_per_report")),
            ("client CPU per acknowledged report", per("client_cpu_ms_per_report"))]


def print_summary(report: dict[str, Any], console: Console) -> None:
    r, lat = report["reports"], report["latency_seconds"]
    table = Table(title=f"Rehearsal: {report['truth']['source']} ({report['truth']['units']} units, "
                        f"{report['setup']['engine']}, {report['setup']['workers']} worker(s))")
    table.add_column("measure")
    table.add_column("value", justify="right")

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v * 1000:.0f} ms"

    rows = [
        ("units played / to publish", f"{report['truth']['units']} / {report['truth']['to_publish']}"),
        ("reports sent / acknowledged", f"{r['sent']} / {r['acknowledged']}"),
        ("lost (must be 0)", str(r["lost"])),
        ("duplicates (must be 0)", str(r["duplicates"])),
        ("sends incl. retries", str(r["attempts"])),
        ("refused (expected and not)", f"{r['refused']} ({len(r['unexpected_refusals'])} unexpected)"),
        ("hash chain", "verified" if r["chain_verified"] else "BROKEN"),
        ("photos acknowledged / lost", f"{r['photos']['acknowledged']} / {r['photos']['lost']}"),
        ("latency p50 / p95 / p99", f"{ms(lat['p50'])} / {ms(lat['p95'])} / {ms(lat['p99'])}"),
        ("client timeouts", str(report.get("timeouts", 0))),
        *_cost_rows(report.get("cost") or {}),
        ("last report to fully published", "-" if report["last_report_to_fully_published_seconds"] is None
         else f"{report['last_report_to_fully_published_seconds']:.1f} s"),
        ("published totals = ground truth", "identical" if report["totals"]["identical"] else "DIFFERENT"),
        ("wall time", f"{report['wall_seconds']} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    behaviours = Table(title="The unscripted night")
    for column in ("behaviour", "played", "verdict"):
        behaviours.add_column(column)
    for v in report.get("behaviours", []):
        behaviours.add_row(v["what"], str(v["played"]), "pass" if v["ok"] else "[red]FAIL[/red]")
    if report.get("behaviours"):
        console.print(behaviours)
    for v in report.get("behaviours", []):
        if not v["ok"]:
            console.print(f"[red]{v['behaviour']}:[/red] {v['detail']}")
    if r["unexpected_refusals"]:
        console.print("[red]unexpected refusals:[/red]", *r["unexpected_refusals"], sep="\n  ")
    if r["unpublished"]:
        console.print("[red]should be published and are not:[/red]", *r["unpublished"], sep="\n  ")
    if report["reports"]["content_mismatches"]:
        console.print("[red]ledger content differs from the truth:[/red]", *report["reports"]["content_mismatches"])
    console.print("[bold green]PASS[/bold green]" if report["ok"] else "[bold red]FAIL[/bold red]")


def _line_chart(samples: Sequence[dict[str, float]], series: Sequence[tuple[str, str, str]], title: str) -> str:
    width, height, pad = 720, 260, 40
    if not samples:
        return f"<p>{html.escape(title)}: no samples</p>"
    t_max = max(s["t"] for s in samples) or 1.0
    y_max = max(max(s.get(key, 0) for s in samples) for key, _, _ in series) or 1.0
    parts = [f'<svg role="img" aria-label="{html.escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}"><title>{html.escape(title)}</title>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - 10}" y2="{height - pad}" stroke="#333"/>',
             f'<line x1="{pad}" y1="10" x2="{pad}" y2="{height - pad}" stroke="#333"/>',
             f'<text x="{pad}" y="{height - 12}" font-size="12">0 s</text>',
             f'<text x="{width - 60}" y="{height - 12}" font-size="12">{t_max:.0f} s</text>',
             f'<text x="4" y="16" font-size="12">{y_max:.0f}</text>']
    for i, (key, label, colour) in enumerate(series):
        points = " ".join(
            f"{pad + (s['t'] / t_max) * (width - pad - 10):.1f},"
            f"{height - pad - (s.get(key, 0) / y_max) * (height - pad - 10):.1f}" for s in samples)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{pad + 10 + i * 200}" y="28" fill="{colour}" font-size="13">{html.escape(label)}'
                     '</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(values: Sequence[float], title: str, bins: int = 30) -> str:
    width, height, pad = 720, 220, 40
    if not values:
        return f"<p>{html.escape(title)}: no data</p>"
    top = max(_quantile(values, 0.99) or 0, 1e-3)
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int(v / top * bins))] += 1
    peak = max(counts) or 1
    bar = (width - pad - 10) / bins
    rects = "".join(
        f'<rect x="{pad + i * bar:.1f}" y="{height - pad - c / peak * (height - pad - 10):.1f}" width="{bar - 1:.1f}"'
        f' height="{c / peak * (height - pad - 10):.1f}" fill="#1f5fa8"/>' for i, c in enumerate(counts))
    return (f'<svg role="img" aria-label="{html.escape(title)}" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}"><title>{html.escape(title)}</title>{rects}'
            f'<text x="{pad}" y="{height - 12}" font-size="12">0 ms</text>'
            f'<text x="{width - 90}" y="{height - 12}" font-size="12">{top * 1000:.0f} ms (p99)</text></svg>')


def to_html(report: dict[str, Any], latencies: Sequence[float]) -> str:
    r = report["reports"]
    verdict = "PASS" if report["ok"] else "FAIL"
    rows = "".join(f"<tr><th scope='row'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in [
        ("ground truth", f"{report['truth']['source']} ({report['truth']['units']} units)"),
        ("setup", f"{report['setup']['engine']}, {report['setup']['workers']} worker(s), night of "
                  f"{report['setup']['night_seconds']} s, faults: kills {report['setup']['kills']}, PostgreSQL "
                  f"restarts {report['setup']['pg_restarts']}, slow {report['setup']['slow']}"),
        ("reports sent / acknowledged", f"{r['sent']} / {r['acknowledged']}"),
        ("lost", r["lost"]), ("duplicates", r["duplicates"]), ("hash chain verified", r["chain_verified"]),
        ("latency p50 / p95 / p99 (s)", " / ".join(str(report["latency_seconds"][k]) for k in ("p50", "p95", "p99"))),
        ("client timeouts", report.get("timeouts", 0)),
        *_cost_rows(report.get("cost") or {}),
        ("last report to fully published (s)", report["last_report_to_fully_published_seconds"]),
        ("published totals equal the ground truth", report["totals"]["identical"]),
    ])
    totals = "".join(
        f"<tr><td>{html.escape(row['candidate'])}</td>" + "".join(
            f"<td class='{'' if row[m]['same'] else 'bad'}'>{row[m]['published']} / {row[m]['truth']}</td>"
            for m in ("first", "final", "delegates", "sde")) + "</tr>"
        for row in report["totals"].get("rows", []))
    behaviours = "".join(
        f"<tr><td>{html.escape(v['what'])}</td><td>{v['played']}</td>"
        f"<td class='{'' if v['ok'] else 'bad'}'>{'pass' if v['ok'] else 'FAIL'}</td></tr>"
        for v in report.get("behaviours", []))
    progress = _line_chart(report["samples"], [("precincts_acknowledged", "precincts fully acknowledged", "#1f5fa8"),
                                               ("published", "precincts published", "#1a7f37"),
                                               ("errors", "errors seen by clients", "#b42318")],
                           "Precincts over the night")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>caucus rehearsal: {verdict}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}}
table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.3rem .6rem;text-align:left}}
.bad{{background:#fde2e1}}.verdict{{font-size:2rem;font-weight:700}}</style></head><body>
<h1>caucus rehearsal</h1><p class="verdict">{verdict}</p><table>{rows}</table>
<h2>The unscripted night</h2><table><tr><th>behaviour</th><th>played</th><th>verdict</th></tr>{behaviours}</table>
<h2>Progress</h2>{progress}
<h2>Acknowledgment latency</h2>{_histogram(latencies, "Latency of acknowledged reports")}
<h2>Published totals (published / truth)</h2><table><tr><th>candidate</th><th>first</th><th>final</th>
<th>county delegates</th><th>SDE</th></tr>{totals}</table></body></html>"""
