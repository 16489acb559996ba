"""The director's release page (and the campaigns' quality page) reads the maintained state (``precinct_status``
with ``released_seq``, ``released_findings`` and ``codes``; ``status_counts``): after every step of a seeded random
night of reports, review decisions, corrections, worksheet photos and releases, through a rehearsal reset and
go-live, its preview equals the preview derived from every precinct's status (and the quality summary the one
derived from every status and released record), and releasing publishes what it said. A tampered
``released_seq`` is found by ``caucus state check`` and repaired by ``caucus state rebuild``. SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from sqlalchemy import update

from caucus.cli import app
from caucus.ledger import LedgerError
from caucus.ledger.schema import precinct_status
from caucus.service import ServiceError
from caucus.service.maintained import check
from caucus.service.release_preview import ReleasePreview
from caucus.web.services import Services
from tests.cli.support import runner
from tests.hq.support import play_random
from tests.hq.test_status_rows import NOBODY_CAME, RITA, SCRIPTS, ZEROS
from tests.hq.test_status_rows import _operations as _night_operations
from tests.publish.support import report, scripts
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG, STAGES

POWESHIEK = scripts(["Poweshiek"])[:4]


def _png(shade: int) -> bytes:
    from PIL import Image  # noqa: PLC0415

    buffer = io.BytesIO()
    Image.new("RGB", (240, 200), (shade, shade, 240)).save(buffer, format="PNG")
    return buffer.getvalue()


QUALITY_SEEN: set[str] = set()


def _assert_preview_equals_the_derivation(svc: Services) -> ReleasePreview:
    preview = svc.releases.preview()
    assert preview == svc.releases.derived_preview()
    # the campaigns' quality page reads the same rows (state, reason codes, what the releases hold)
    quality = svc.campaigns.quality()
    assert quality == svc.campaigns.derived_quality()
    QUALITY_SEEN.update(name for name, seen in (("held by reason", quality.held_by_reason),
                                                ("released findings", quality.released_findings),
                                                ("awaiting", quality.awaiting_release)) if seen)
    assert check(svc.engine, svc.context).ok
    return preview


def _operations(svc: Services, rng: random.Random) -> list[Callable[[int], object]]:
    def release(n: int) -> object:
        before = svc.releases.preview()
        made = svc.releases.release(actor="director:dora", note=f"batch {n}")
        # what the page said a release would publish is what it published
        assert made.precincts_reporting >= before.accepted
        after = svc.releases.preview()
        assert after.new == 0 and after.last_release == made.number, after
        return made

    def photo(n: int) -> object:
        code = rng.choice([*SCRIPTS, *(s.precinct for s in POWESHIEK)])
        return svc.photos.store(code, data=_png(100 + n % 100), content_type="image/png", channel="app",
                                actor="chair", idempotency_key=f"photo-{n}")

    def full(n: int) -> object:  # a precinct of the 2020 night reports every stage (accepted)
        script = rng.choice(POWESHIEK)
        return report(svc.reports, script, prefix=f"full-{n}")

    def nobody_came(n: int) -> object:  # attendance 0 at every stage: held, then accepted despite its findings
        for stage, numbers in ZEROS[len(svc.review.status(NOBODY_CAME).stages):]:
            svc.reports.submit(NOBODY_CAME, _report(stage, numbers), f"zero-{n}-{stage}", channel="app",
                               actor="chair")
        last = svc.review.status(NOBODY_CAME).history[-1].seq
        return svc.review.accept_precinct(RITA, NOBODY_CAME, last, "nobody came: confirmed by phone")

    def hold(n: int) -> object:  # a reviewer holds, then accepts, a precinct with every stage in
        status = svc.review.status(GRINNELL)
        last = status.history[-1].seq if status.history else 0
        return svc.review.accept_precinct(RITA, GRINNELL, last, "checked by phone")

    return [*_night_operations(svc, rng), release, release, photo, hold, full, full, nobody_came]


def _play(svc: Services, seed: int, steps: int) -> set[str]:
    rng = random.Random(seed)

    def check() -> set[str]:
        preview = _assert_preview_equals_the_derivation(svc)
        # what the previews said along the way (the sequence must have made each of them)
        return {name for name, seen in (("something new", preview.new), ("accepted", preview.accepted),
                                        ("held back", preview.held_count),
                                        ("released before, held now", any(h.released_before for h in preview.held)))
                if seen}

    return play_random(rng, _operations(svc, rng), steps, (ServiceError, LedgerError, IndexError), check)


def test_the_release_preview_equals_the_derivation_through_a_random_night(hq: Web, svc: Services) -> None:
    QUALITY_SEEN.clear()  # what this night's quality pages showed (each engine's run on its own)
    _assert_preview_equals_the_derivation(svc)
    done = _play(svc, 21, 25)
    svc.election.reset_rehearsal("director:dora", confirm=SLUG)
    preview = _assert_preview_equals_the_derivation(svc)
    assert (preview.accepted, preview.new, preview.last_release) == (0, 0, None)
    done |= _play(svc, 22, 15)
    svc.election.go_live("director:dora", confirm=SLUG)
    _assert_preview_equals_the_derivation(svc)
    done |= _play(svc, 23, 30)
    assert done >= {"report", "release", "photo", "correct", "something new", "accepted", "held back"}, done
    assert {"held by reason", "released findings", "awaiting"} <= QUALITY_SEEN, QUALITY_SEEN


def test_a_photo_on_a_released_precinct_makes_it_new_again(hq: Web, svc: Services) -> None:
    for stage, numbers in STAGES:
        svc.reports.submit(GRINNELL, _report(stage, numbers), f"g-{stage}", channel="app", actor="chair")
    assert svc.releases.preview().new == 1
    svc.releases.release(actor="director:dora")
    assert _assert_preview_equals_the_derivation(svc).new == 0
    svc.photos.store(GRINNELL, data=_png(90), content_type="image/png", channel="app", actor="chair",
                     idempotency_key="late-photo")
    preview = _assert_preview_equals_the_derivation(svc)
    assert (preview.new, preview.changed) == (1, (GRINNELL,))


def test_check_finds_a_tampered_released_seq_and_rebuild_repairs_it(hq: Web, svc: Services) -> None:
    for stage, numbers in STAGES:
        svc.reports.submit(GRINNELL, _report(stage, numbers), f"g-{stage}", channel="app", actor="chair")
    svc.releases.release(actor="director:dora")
    with svc.engine.begin() as conn:
        conn.execute(update(precinct_status).values(released_seq=None))
    assert svc.releases.preview().new == 1  # the page believes the row: a release would publish it again
    result = check(svc.engine, svc.context)
    assert not result.ok and result.differences[0][0] == GRINNELL
    assert result.differences[0][1].startswith(
        "released (seq, findings, release): stored (-1, '', 1), the releases make (")
    url = str(svc.engine.url.render_as_string(hide_password=False))
    assert runner.invoke(app, ["verify", SLUG, "--database", url]).exit_code == 1
    assert runner.invoke(app, ["state", "rebuild", SLUG, "--database", url]).exit_code == 0
    assert _assert_preview_equals_the_derivation(svc).new == 0


def _report(stage: str, numbers: dict) -> object:  # type: ignore[type-arg]
    from caucus.service import StageReport  # noqa: PLC0415

    return StageReport(stage, numbers)
