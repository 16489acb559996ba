"""The unscripted work of a real night, one verdict each: what the rehearsal played and whether the system
held. A behaviour that the ground truth gives no occasion for is reported as not played (and does not fail);
on the certified Iowa night every one is played.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caucus.rehearse.golive import GoLive


@dataclass(frozen=True)
class Verdict:
    name: str
    what: str
    played: int  # how many times (units, attempts...) the behaviour was played
    ok: bool
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"behaviour": self.name, "what": self.what, "played": self.played, "ok": self.ok,
                "detail": dict(self.detail)}


def credential_flood(attack: Mapping[str, Any] | None, refused: Iterable[str], signins: Mapping[int, int],
                     staff_after: Mapping[str, int]) -> Verdict:
    """An attacker floods wrong credentials: nobody with the right credential may be refused or throttled,
    and no wrong credential may sign in."""
    refused = sorted(refused)
    if attack is None:
        return Verdict("credential-flood", "wrong credentials flooded from many addresses during the night",
                       0, not refused, {"refused_right_credential": refused[:20]})
    staff_refused = {user: status for user, status in staff_after.items() if status != 303}
    ok = not refused and not staff_refused and attack.get("wrong_credentials_accepted", 0) == 0
    return Verdict(
        "credential-flood", "wrong credentials flooded for many precincts and staff accounts from many addresses "
        "during the night; every chair, operator and staff member with the right credential still gets in",
        int(attack.get("attempts", 0)) + int(attack.get("staff_attempts", 0)), ok,
        {"attack": dict(attack), "right_credential_answers": {str(k): v for k, v in sorted(signins.items())},
         "refused_right_credential": refused[:20], "staff_sign_in_after_flood": dict(staff_after)})


def both_channels(units: Iterable[str], states: Mapping[str, str], published: set[str]) -> Verdict:
    """Units reported on the app and by phone with the same numbers: none may be conflicting, all published."""
    units = sorted(units)
    conflicting = [u for u in units if states.get(u) == "conflicting"]
    missing = [f"{u} ({states.get(u, 'no status')})" for u in units if u not in published]
    return Verdict("both-channels-agree", "precincts reported on the app and by the hotline with equal numbers "
                   "are accepted, never conflicting", len(units), not conflicting and not missing,
                   {"conflicting": conflicting[:20], "not_published": missing[:20]})


def corrections_move_delegates(moved: Mapping[str, int], mismatched: Iterable[str]) -> Verdict:
    """Chairs who miscounted the final alignment correct it and the delegates in one correction: every
    correction is recorded and the ledger holds the corrected numbers."""
    wrong = set(mismatched)
    refused = {code: status for code, status in sorted(moved.items()) if status not in (200, 201)}
    left = sorted(code for code in moved if code in wrong)
    return Verdict("corrections-move-delegates", "chairs correct a miscounted final alignment and its delegates in "
                   "one correction that moves a delegate", len(moved), not refused and not left,
                   {"refused": refused, "ledger_not_corrected": left[:20]})


def went_live(seen: GoLive | None, published: set[str], totals_identical: bool) -> Verdict:
    """The election went live after a rehearsal: the feed was empty until the first live release, the cards
    kept working, and the practice numbers were never published (the night's truth was)."""
    if seen is None:
        return Verdict("go-live-after-rehearsal", "the election goes live after a rehearsal", 0, True)
    missing = [code for code in seen.units if code not in published]
    ok = seen.ok_before_night and not missing and totals_identical
    return Verdict("go-live-after-rehearsal", "chairs rehearse with their cards and a test release, the election "
                   "goes live: the feed is empty until the first live release, the same cards sign in, and no "
                   "rehearsal number is published", 1, ok,
                   {**seen.as_dict(), "rehearsal_units_not_published_live": missing[:20],
                    "live_totals_equal_truth": totals_identical})


def recanvass_moves_delegates(seen: Mapping[str, Any] | None) -> Verdict:
    """A recanvass corrects published, miscounted precincts (final alignment and delegates at once): every
    correction recorded, the published totals end equal to the truth, the delta names each precinct."""
    if seen is None:
        return Verdict("recanvass-moves-delegates", "a campaign's recanvass moves delegates", 0, True)
    units = list(seen.get("units", []))
    refused = {code: status for code, status in {**seen.get("corrections", {}), **seen.get("confirmed", {})}.items()
               if status != 303}
    unnamed = sorted(set(units) - set(seen.get("published_difference", [])))
    # the campaign's own part (caucus.rehearse.campaign), when it played it: its verdict must hold
    campaign = seen.get("campaign")
    ok = (seen.get("request") is not None and not refused and not unnamed
          and seen.get("published_totals_equal_truth") is True and (campaign is None or campaign.get("ok") is True))
    return Verdict("recanvass-moves-delegates", "a campaign's recanvass of published, miscounted precincts is "
                   "corrected at HQ (final alignment and delegates together, delegates move) and the published "
                   "difference names the request; the campaign uploads its captains' tallies, files the request "
                   "from its cross-check and follows it to the published difference", len(units), ok,
                   {**dict(seen), "refused": refused, "not_in_published_difference": unnamed})


def ties_phoned_in(units: Iterable[str], states: Mapping[str, str], published: set[str],
                   mismatched: Iterable[str]) -> Verdict:
    """Precincts with a game of chance report it by phone (two operators key the toss): each is accepted,
    published and holds the truth's numbers and outcome."""
    units = sorted(units)
    wrong = set(mismatched)
    failed = [f"{u} ({states.get(u, 'no status')})" for u in units if u not in published or u in wrong]
    return Verdict("ties-phoned-in", "precincts with a game of chance phone it in; two operators key the numbers "
                   "and the toss (four eyes)", len(units), not failed, {"not_published_or_wrong": failed[:20]})
