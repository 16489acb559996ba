"""``caucus verify --against-release URL|DIR``: the ledger checked against the heads releases published.

Reading a release that is not there, not a release, or of another election exits 2 (bad input) before the
database is opened; a head the ledger no longer holds is a problem (exit 1), named by release and seq.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from caucus.cli.common import err, fail, out

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from caucus.ledger import ChainReport
    from caucus.publish.heads import PublishedHead

def http_get(url: str) -> bytes:
    """The body of ``url``; a site that does not answer, or answers anything but 2xx, is one line naming the
    URL and why (caucus.cli.feed_fetch: connection refused, HTTP 404 with the feed's error code, ...)."""
    from caucus.cli.feed_fetch import feed_get  # noqa: PLC0415

    return feed_get(url)


def read_sources(sources: Sequence[str], slug: str | None) -> list[PublishedHead]:
    """The heads published by every release at ``sources`` (exit 2 if one cannot be read, publishes no head,
    or is of another election than ``slug``)."""
    from caucus.publish.heads import read_heads  # noqa: PLC0415
    from caucus.publish.verify import Unreadable  # noqa: PLC0415

    heads: list[PublishedHead] = []
    for source in sources:
        try:
            found, notes = read_heads(source, http_get)
        except Unreadable as exc:
            fail(f"--against-release {source}: cannot read the release: {exc}")
        for note in notes:
            err.print(f"note: {note}", highlight=False, markup=False)
        for head in found:
            if slug is not None and head.election != slug:
                fail(f"--against-release {source}: release {head.release} is of election {head.election!r}, "
                     f"not {slug!r}")
        heads += found
    return heads


def check_heads(engine: Engine, reports: Mapping[str, ChainReport], heads: Sequence[PublishedHead]
                ) -> list[tuple[PublishedHead, list[str]]]:
    """Each head with what is wrong with the ledger against it (exit 2 if its election is not here)."""
    from caucus.ledger.anchor import Anchor, check_head  # noqa: PLC0415

    checked = []
    for head in heads:
        chain = reports.get(head.election)
        if chain is None:
            fail(f"--against-release {head.source}: release {head.release} is of election {head.election!r}, "
                 "which this database does not hold")
        anchor = Anchor(election=head.election, seq=head.seq, hash=head.hash, created_at=head.created_at,
                        name=head.name)
        checked.append((head, check_head(engine, chain, anchor)))
    return checked


def print_heads(checked: Sequence[tuple[PublishedHead, list[str]]]) -> None:
    for head, problems in checked:
        for problem in problems:
            out.print(f"FAIL {problem}", highlight=False, markup=False)
        if not problems:
            out.print(f"{head.name}: OK, the ledger holds its head #{head.seq} {head.hash} (manifest sha256 "
                      f"{head.manifest_sha256})", highlight=False, markup=False)
