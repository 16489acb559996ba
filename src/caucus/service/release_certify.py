"""What certifying must name: the precincts without accepted results (:class:`Outstanding`), and whether a
director's acknowledgement names exactly those (:func:`acknowledgement_problem`), for
:meth:`caucus.service.releases.ReleaseService.certify`."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Outstanding:
    """The precincts without accepted results: what a certification must name."""

    not_reported: tuple[str, ...] = ()
    incomplete: tuple[str, ...] = ()  # some stages reported
    held: tuple[str, ...] = ()  # held for review
    conflicting: tuple[str, ...] = ()

    @property
    def codes(self) -> frozenset[str]:
        return frozenset((*self.not_reported, *self.incomplete, *self.held, *self.conflicting))

    def groups(self) -> builtins.list[tuple[str, tuple[str, ...]]]:
        return [(label, codes) for label, codes in (("not reported", self.not_reported),
                                                    ("incomplete", self.incomplete),
                                                    ("held for review", self.held),
                                                    ("conflicting", self.conflicting)) if codes]

    def describe(self, limit: int | None = None) -> str:
        """``not reported: A, B; held for review: C`` (at most ``limit`` codes per group)."""
        parts = []
        for label, codes in self.groups():
            shown = codes if limit is None else codes[:limit]
            more = f" and {len(codes) - len(shown)} more" if len(shown) < len(codes) else ""
            parts.append(f"{label} ({len(codes)}): {', '.join(shown)}{more}")
        return "; ".join(parts)


#: the kinds of outstanding precincts, as a certification's ``counts`` name them
OUTSTANDING_KINDS = ("not-reported", "incomplete", "held", "conflicting")


def _outstanding_counts(outstanding: Outstanding) -> dict[str, int]:
    return dict(zip(OUTSTANDING_KINDS, (len(outstanding.not_reported), len(outstanding.incomplete),
                                        len(outstanding.held), len(outstanding.conflicting)), strict=True))


def acknowledgement_problem(outstanding: Outstanding, acknowledge: Collection[str],
                             counts: Mapping[str, int] | None) -> str | None:
    """Why the acknowledgement does not name exactly what is outstanding now (None if it does)."""
    named = {code.strip() for code in acknowledge if code.strip()}
    actual = _outstanding_counts(outstanding)
    summary = (f"{len(outstanding.codes)} precincts have no accepted results: {outstanding.describe(limit=20)}"
               if outstanding.codes else "every precinct has accepted results")
    if counts is not None:
        unknown = sorted(set(counts) - set(OUTSTANDING_KINDS))
        if unknown:
            return f"unknown kinds {', '.join(unknown)}: acknowledge counts of {', '.join(OUTSTANDING_KINDS)}"
        given = {kind: int(counts.get(kind, 0)) for kind in OUTSTANDING_KINDS}
        if given == actual and not named:
            return None
        expected = ", ".join(f"{kind}={n}" for kind, n in actual.items() if n)
        told = ", ".join(f"{kind}={n}" for kind, n in given.items() if n) or "none"
        return (f"{summary}; the acknowledgement says {told}, but it is {expected or 'none'} now: certify "
                "only what you have read")
    missing = sorted(outstanding.codes - named)
    extra = sorted(named - outstanding.codes)
    if not missing and not extra:
        return None

    def shown(codes: builtins.list[str]) -> str:
        cut = codes[:20]
        return ", ".join(cut) + (f" and {len(codes) - len(cut)} more" if len(cut) < len(codes) else "")

    parts = [summary]
    if missing:
        parts.append(f"certifying without them must name each of them (or how many of each kind); not named: "
                     f"{shown(missing)}")
    if extra:
        parts.append(f"named but not outstanding (acknowledge only what is outstanding now): {shown(extra)}")
    return "; ".join(parts)
