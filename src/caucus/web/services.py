"""What one running app holds: the engine, the single ledger Writer, the election's context and the use
cases built on them. Started by the app's lifespan, handed to requests through the lifespan state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, text
from starlette.requests import Request

from caucus.ledger import Writer, upgrade
from caucus.ledger.db import utcnow
from caucus.service import ElectionContext, ReportService, SessionService, load_context
from caucus.service.campaigns import CampaignService
from caucus.service.continuous import ContinuousReleaser
from caucus.service.early_ballots import EarlyBallotService
from caucus.service.exports import ExportSlots
from caucus.service.golive import ElectionModeService
from caucus.service.hotline import HotlineService
from caucus.service.maintained import StatusKeeper
from caucus.service.media import MessageService, PhotoService
from caucus.service.readiness import ReadinessService
from caucus.service.recanvass import RecanvassService
from caucus.service.releases import ReleaseService
from caucus.service.review import ReviewService
from caucus.service.roster import RosterService
from caucus.service.staff import StaffService
from caucus.service.throttles import ThrottleService
from caucus.web.public.reader import SnapshotReader
from caucus.web.settings import Settings

STATE_KEY = "services"


@dataclass
class Services:
    settings: Settings
    engine: Engine
    writer: Writer
    context: ElectionContext
    sessions: SessionService
    reports: ReportService
    staff: StaffService
    hotline: HotlineService
    review: ReviewService
    recanvass: RecanvassService
    readiness: ReadinessService
    photos: PhotoService
    messages: MessageService
    releases: ReleaseService
    throttles: ThrottleService
    #: the public side reads releases from these files only
    snapshots: SnapshotReader
    releaser: ContinuousReleaser
    election: ElectionModeService
    #: the chair roster (HQ only: never public, never in a release)
    roster: RosterService
    #: Nevada's early ranked ballots (docs/early-ballots.md)
    early: EarlyBallotService
    #: campaigns' own tallies, the cross-check, quality control, browse/export (issue 13)
    campaigns: CampaignService
    #: whole-state CSV exports streaming at once, per account and per worker (caucus.service.exports)
    exports: ExportSlots = field(default_factory=ExportSlots)

    def mode(self) -> str:
        """The election's mode now (test or live): read from the database, since ``caucus election go-live``
        may switch it while the server runs."""
        return self.election.mode()

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Commit what the writer has queued, stop it, and close the engine's connections."""
        try:
            self.releaser.stop()
            self.writer.close()
        finally:
            self.engine.dispose()


def start_services(
    engine: Engine, settings: Settings, clock: Callable[[], datetime] | None = None
) -> Services:
    """Bring the schema up to date, load the election served, start the Writer (blocking: run it off the
    event loop)."""
    now = clock or utcnow
    upgrade(engine)
    context = load_context(engine, settings.election)
    keeper = StatusKeeper(context)
    keeper.repair(engine)  # rows a writer without a keeper (or the migration) left stale
    writer = Writer(engine, clock=now, maintainer=keeper)
    reports = ReportService(engine, writer, context, clock=now)
    messages = MessageService(engine, context, clock=now)
    review = ReviewService(engine, writer, context, reports, clock=now, messages=messages)
    snapshot_dir = settings.snapshots / context.slug
    photos = PhotoService(engine, context, clock=now)
    releases = ReleaseService(engine, context, snapshot_dir, clock=now, photos=photos,
                              bulk_interval=settings.bulk_interval)
    releases.repair()
    roster = RosterService(engine, context, clock=now)
    recanvass = RecanvassService(engine, context, review, clock=now)
    releaser = ContinuousReleaser(releases, settings.release_interval_seconds)
    if settings.release_in_app:
        releaser.start()
    return Services(
        early=EarlyBallotService(engine, context, clock=now),
        settings=settings,
        engine=engine,
        writer=writer,
        context=context,
        sessions=SessionService(engine, context, clock=now, rules=settings.signin_rules, ttl=settings.session_ttl),
        reports=reports,
        staff=StaffService(engine, election_id=context.election_id, clock=now, rules=settings.staff_rules,
                           idle=settings.staff_idle, absolute=settings.staff_absolute, groups=context.candidates),
        hotline=HotlineService(engine, writer, context, clock=now, rules=settings.hotline_rules),
        review=review,
        recanvass=recanvass,
        readiness=ReadinessService(engine, context, clock=now, roster=roster),
        photos=photos,
        messages=messages,
        releases=releases,
        throttles=ThrottleService(engine, context, clock=now, chair=settings.signin_rules,
                                  hotline=settings.hotline_rules, staff=settings.staff_rules),
        snapshots=SnapshotReader(snapshot_dir),
        releaser=releaser,
        election=ElectionModeService(engine, context, releases, clock=now),
        roster=roster,
        campaigns=CampaignService(engine, context, recanvass, clock=now),
    )


def services_of(request: Request) -> Services:
    """The services of the app serving ``request`` (set by its lifespan)."""
    services = getattr(request.state, STATE_KEY, None)
    if not isinstance(services, Services):
        raise RuntimeError("the caucus app was not started: run it under a server (or TestClient as a context "
                           "manager) so that its lifespan starts the services")
    return services
