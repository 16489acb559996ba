"""The ledger's tables (SQLAlchemy Core). Alembic migrations in ``migrations/versions`` create them.

Timestamps are UTC everywhere: ``timestamp with time zone`` on PostgreSQL and fixed-width ISO 8601 text
(``2020-02-03T19:00:00.000000+00:00``, which sorts in time order) on SQLite; Python always sees
timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from caucus.ledger.db import iso_utc
from caucus.ledger.model import CHANNELS, CREDENTIAL_STATUSES, MODES, PRECINCT_KINDS, STAGES


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes: timestamptz on PostgreSQL, ISO 8601 text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return iso_utc(value)
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: ledger timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ValueError(f"stored timestamp {value!r} is not timezone-aware")
        return moment.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

elections = Table(
    "elections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("plan_name", String(100), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("mode", MODES), name="mode"),
)

precincts = Table(
    "precincts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("code", String(100), nullable=False),
    Column("county", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("delegates", Integer, nullable=True),
    Column("kind", String(16), nullable=False),
    UniqueConstraint("election_id", "code"),
    CheckConstraint(_in("kind", PRECINCT_KINDS), name="kind"),
    CheckConstraint("delegates IS NULL OR delegates >= 0", name="delegates"),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_id", Integer, ForeignKey("precincts.id"), nullable=False),
    Column("secret_hash", String(255), nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    CheckConstraint(_in("status", CREDENTIAL_STATUSES), name="status"),
    CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL)", name="revoked_at"),
    Index(
        "uq_credentials_one_active",
        "precinct_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
    # 0007: the hotline code's argon2id hash (null for credentials issued before hotline codes existed)
    Column("hotline_hash", String(255), nullable=True),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("election_id", Integer, ForeignKey("elections.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("precinct_id", Integer, ForeignKey("precincts.id"), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("stage", String(10), nullable=False),
    Column("payload", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("supersedes_seq", Integer, nullable=True),
    Column("reason", Text, nullable=True),
    # Revision 0006: the id shared by the entries of one correction of several stages (NULL otherwise).
    Column("correction_id", String(64), nullable=True),
    UniqueConstraint("election_id", "idempotency_key"),
    # One correction per entry: a second correction must supersede the first one.
    UniqueConstraint("election_id", "supersedes_seq"),
    ForeignKeyConstraint(
        ["election_id", "supersedes_seq"],
        ["ledger_entries.election_id", "ledger_entries.seq"],
        name="fk_ledger_entries_supersedes",
    ),
    CheckConstraint("seq >= 1", name="seq"),
    CheckConstraint(_in("channel", CHANNELS), name="channel"),
    CheckConstraint(_in("stage", STAGES), name="stage"),
    CheckConstraint("supersedes_seq IS NULL OR supersedes_seq < seq", name="supersedes_earlier"),
    CheckConstraint(
        "supersedes_seq IS NULL OR (reason IS NOT NULL AND length(trim(reason)) > 0)",
        name="correction_reason",
    ),
    Index(None, "election_id", "precinct_id", "seq"),
    Index("ix_ledger_entries_correction", "election_id", "correction_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("detail", Text, nullable=False),
    Column("outcome", String(100), nullable=False),
    Index(None, "election_id", "at"),
)

# Revision 0002: chair sessions (only a SHA-256 hash of each bearer token) and sign-in attempts.
SIGNIN_OUTCOMES = ("ok", "bad-credential", "precinct-locked", "client-limited")

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_id", Integer, ForeignKey("precincts.id"), nullable=False),
    Column("credential_id", Integer, ForeignKey("credentials.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    CheckConstraint("expires_at > created_at", name="expiry"),
    Index(None, "election_id", "precinct_id"),
)

signin_attempts = Table(
    "signin_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_code", String(100), nullable=False),
    Column("client", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("outcome", String(16), nullable=False),
    CheckConstraint(_in("outcome", SIGNIN_OUTCOMES), name="outcome"),
    CheckConstraint("ok = (outcome = 'ok')", name="ok"),
    Index(None, "election_id", "precinct_code", "at"),
    Index(None, "election_id", "client", "at"),
)

# Revision 0003: worksheet photos and messages from HQ to a precinct's chair (both append-only).
MESSAGE_KINDS = ("note", "resend-photo", "call-hq")

photos = Table(
    "photos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_id", Integer, ForeignKey("precincts.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("election_id", "idempotency_key"),
    CheckConstraint(_in("channel", CHANNELS), name="channel"),
    CheckConstraint("size > 0 AND width > 0 AND height > 0", name="dimensions"),
    Index(None, "election_id", "precinct_id"),
    Index(None, "election_id", "received_at"),  # revision 0020: the photos since a moment, not every photo's bytes
)

# Revision 0009: the public copy of each worksheet photo (re-encoded, metadata stripped; append-only).
photo_copies = Table(
    "photo_copies",
    metadata,
    Column("photo_id", Integer, ForeignKey("photos.id"), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("made_at", UTCDateTime(), nullable=False),
    CheckConstraint("size > 0 AND width > 0 AND height > 0", name="dimensions"),
)

hq_messages = Table(
    "hq_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_id", Integer, ForeignKey("precincts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("kind", MESSAGE_KINDS), name="kind"),
    CheckConstraint("length(text) > 0", name="text"),
    Index(None, "election_id", "precinct_id"),
)

# Revision 0004 (hq): staff accounts and sessions (only a SHA-256 hash of each session token), staff sign-in
# attempts, hotline calls, review decisions, recanvass requests. Records are append-only (triggers in 0004).
#: ``campaign`` since revision 0012 (issue 13): scoped to one preference group (``staff_users.campaign``)
STAFF_ROLES = ("admin", "operator", "reviewer", "director", "observer", "campaign")
STAFF_SIGNIN_OUTCOMES = ("ok", "bad-password", "account-locked", "client-limited")
HOTLINE_OUTCOMES = ("verified", "bad-credential", "precinct-locked")
REVIEW_DECISIONS = ("accept", "recanvass-unchanged")
RECANVASS_KINDS = ("recanvass", "recount")

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),
    #: revision 0012: the preference group a campaign account is scoped to (NULL for every other role)
    Column("campaign", String(100), nullable=True),
    CheckConstraint(_in("role", STAFF_ROLES), name="role"),
    CheckConstraint("status IN ('active', 'disabled')", name="status"),
    CheckConstraint("(status = 'disabled') = (disabled_at IS NOT NULL)", name="disabled_at"),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("staff_users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("client", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    CheckConstraint("expires_at > created_at", name="expiry"),
)

staff_signin_attempts = Table(
    "staff_signin_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("client", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    CheckConstraint(_in("outcome", STAFF_SIGNIN_OUTCOMES), name="outcome"),
    Index(None, "username", "at"),
    Index(None, "client", "at"),
)

THROTTLE_KINDS = ("chair", "hotline", "staff")

#: 0007: failed attempts that count towards a throttle until cleared (a success of the same pair, a lift by
#: HQ, a rotation of the precinct's credential)
throttle_failures = Table(
    "throttle_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=True),
    Column("kind", String(8), nullable=False),
    Column("target", String(100), nullable=False),
    Column("client", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("cleared_at", UTCDateTime(), nullable=True),
    Column("cleared_by", String(200), nullable=True),
    CheckConstraint(_in("kind", THROTTLE_KINDS), name="kind"),
    CheckConstraint("(cleared_at IS NULL) = (cleared_by IS NULL)", name="cleared"),
    Index(None, "kind", "client", "at"),
    Index(None, "kind", "target", "at"),
    Index(None, "kind", "at"),
)

hotline_calls = Table(
    "hotline_calls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_code", String(100), nullable=False),
    Column("operator", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("note", Text, nullable=False),
    CheckConstraint(_in("outcome", HOTLINE_OUTCOMES), name="outcome"),
    Index(None, "election_id", "precinct_code", "at"),
)

review_decisions = Table(
    "review_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_code", String(100), nullable=False),
    Column("decision", String(24), nullable=False),
    #: the precinct's newest ledger entry when decided (a later entry makes the decision stale)
    Column("last_seq", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("note", Text, nullable=False),
    Column("request_id", Integer, nullable=True),
    CheckConstraint(_in("decision", REVIEW_DECISIONS), name="decision"),
    CheckConstraint("length(trim(note)) > 0", name="note"),
    Index(None, "election_id", "precinct_code"),
)

recanvass_requests = Table(
    "recanvass_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("campaign", String(200), nullable=False),
    Column("precincts", Text, nullable=False),
    Column("reason", Text, nullable=False),
    #: the election's newest ledger entry when the request was recorded: "before" is the ledger up to it
    Column("as_of_seq", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("kind", RECANVASS_KINDS), name="kind"),
    CheckConstraint("length(trim(reason)) > 0", name="reason"),
)

# Revision 0005 (publish): releases, the precinct records each release changed, continuous-release switches.
RELEASE_STATUSES = ("unofficial", "certified")

releases = Table(
    "releases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("test", Boolean, nullable=False),
    Column("status", String(12), nullable=False),
    Column("zero", Boolean, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("precincts_reporting", Integer, nullable=False),
    Column("precincts_total", Integer, nullable=False),
    Column("ledger_seq", Integer, nullable=False),
    Column("note", Text, nullable=False),
    Column("certified_act", Text, nullable=True),
    Column("manifest", Text, nullable=False),
    UniqueConstraint("election_id", "number"),
    CheckConstraint("number >= 1", name="number"),
    CheckConstraint(_in("status", RELEASE_STATUSES), name="status"),
    CheckConstraint("(status = 'certified') = (certified_act IS NOT NULL)", name="act"),
    CheckConstraint("precincts_reporting >= 0 AND precincts_reporting <= precincts_total", name="counts"),
)

release_precincts = Table(
    "release_precincts",
    metadata,
    Column("election_id", Integer, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("precinct_code", String(100), primary_key=True),
    Column("ledger_seq", Integer, nullable=False),
    Column("record", Text, nullable=False),
    ForeignKeyConstraint(["election_id", "number"], ["releases.election_id", "releases.number"]),
    Index(None, "election_id", "precinct_code", "number"),
)

release_modes = Table(
    "release_modes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("continuous", Boolean, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

# Revision 0008 (golive): each go-live or rehearsal reset draws a line through the election's records (the
# newest row is the current epoch; see caucus.ledger.epochs). Append-only.
EPOCH_ACTIONS = ("go-live", "reset-rehearsal")

election_epochs = Table(
    "election_epochs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("mode", String(8), nullable=False),
    #: ledger entries with seq <= this (and review decisions made on them) never count
    Column("counts_after_seq", Integer, nullable=False),
    #: photos, messages, recanvass requests and hotline calls with an id <= these are the rehearsal's
    Column("photos_after_id", Integer, nullable=False),
    Column("messages_after_id", Integer, nullable=False),
    Column("requests_after_id", Integer, nullable=False),
    Column("calls_after_id", Integer, nullable=False),
    #: releases numbered <= this are archived: kept, never served, never the base of a later release
    Column("releases_through", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("action", EPOCH_ACTIONS), name="action"),
    CheckConstraint(_in("mode", MODES), name="mode"),
    CheckConstraint("counts_after_seq >= 0 AND photos_after_id >= 0 AND messages_after_id >= 0 AND "
                    "requests_after_id >= 0 AND calls_after_id >= 0 AND releases_through >= 0", name="markers"),
    Index(None, "election_id", "id"),
)

# Revision 0011 (roster): each precinct's registered chair, for HQ only (never public, never in a release).
chair_roster = Table(
    "chair_roster",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_id", Integer, ForeignKey("precincts.id"), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("email", String(254), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Index(None, "election_id"),
)

# Revision 0014 (early ballots): Nevada's early ranked ballots, imported before the night (docs/early-ballots.md).
early_ballots = Table(
    "early_ballots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("precinct_id", Integer, ForeignKey("precincts.id"), nullable=False),
    Column("ballot_id", String(64), nullable=False),
    Column("ranks", Text, nullable=False),
    Column("void", Boolean, nullable=False),
    Column("imported_at", UTCDateTime(), nullable=False),
    Column("imported_by", String(200), nullable=False),
    UniqueConstraint("election_id", "ballot_id"),
    Index(None, "precinct_id"),
)


# Revision 0012 (campaigns): each campaign's own tallies per precinct, as its captains wrote them down.
# Append-only (triggers), hash-chained per election and campaign (caucus.ledger.campaign_tallies). Never
# counted, never compared with another campaign's, never public, never in a release: nothing that reads
# ledger_entries reads this table.
campaign_tallies = Table(
    "campaign_tallies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    #: the preference group (candidate) whose campaign recorded the row
    Column("campaign", String(100), nullable=False),
    #: the election's epoch number when recorded (a rehearsal's tallies do not carry into the live night)
    Column("epoch", Integer, nullable=False),
    Column("precinct_code", String(100), nullable=False),
    #: canonical JSON {"first": {...}, "final": {...}, "sde": {group: "1.2345"}}
    Column("numbers", Text, nullable=False),
    #: where it came from: ``csv <file> line <n>`` or ``form``
    Column("source", String(300), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    CheckConstraint("epoch >= 0", name="epoch"),
    Index(None, "election_id", "campaign", "precinct_code"),
)


# Revision 0015 (issue 15): each precinct's derived status, maintained in the same transaction as what changes it
# (caucus.ledger.derived). Derived data, rebuildable from the ledger: a precinct without a row has nothing that
# counts; ``state`` NULL marks a row to derive on read.
precinct_status = Table(
    "precinct_status",
    metadata,
    Column("precinct_id", Integer, ForeignKey("precincts.id"), primary_key=True, autoincrement=False),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    Column("state", String(16), nullable=True),
    #: a copy of the precinct's county (NULL in a stale row), so that counts by county need no join
    Column("county", String(100), nullable=True),
    #: the review queue's order (caucus.service.status.QUEUE_ORDER of its first reason); NULL: not in the queue
    Column("queue_rank", Integer, nullable=True),
    #: the queue's reasons, comma-separated ("" if none)
    Column("why", String(100), nullable=False),
    #: the status's reasons, a JSON list
    Column("reasons", Text, nullable=False),
    Column("last_seq", Integer, nullable=True),
    Column("first_at", UTCDateTime(), nullable=True),
    Column("last_at", UTCDateTime(), nullable=True),
    #: first_at in quarter hours since 1970 (the night page's chart groups by it)
    Column("first_quarter", Integer, nullable=True),
    #: 0016: the ledger seq of the precinct's record in the newest release of the current epoch that released
    #: it (``release_precincts.ledger_seq``; NULL: not released in this epoch), written by the release's own
    #: transaction (caucus.service.releases), so the release page counts what a release would publish
    Column("released_seq", Integer, nullable=True),
    #: 0016: that record's finding codes, comma-separated (the campaigns' quality page counts them)
    Column("released_findings", Text, nullable=True),
    #: 0016: the reason codes of the state (caucus.service.status.reason_codes), comma-separated
    Column("codes", Text, nullable=False, server_default=""),
    #: 0017: the number of that release (NULL: not released in this epoch), written with ``released_seq``: the
    #: campaigns' browse page reads each listed precinct's released record by it
    Column("released_number", Integer, nullable=True),
    Index("ix_precinct_status_queue", "election_id", "queue_rank", "last_seq"),
    Index("ix_precinct_status_state", "election_id", "state", "last_at"),
    Index("ix_precinct_status_first", "election_id", "first_quarter"),
    Index("ix_precinct_status_county", "election_id", "county", "state"),
    Index("ix_precinct_status_released", "election_id", "state", "last_seq", "released_seq"),
    # 0016: the first precincts of a state in plan order (the release page's lists)
    Index("ix_precinct_status_plan", "election_id", "state", "precinct_id"),
    # 0016: the released records with findings (the quality page counts their codes)
    Index("ix_precinct_status_findings", "election_id", "released_findings"),
    # 0017: the released precincts, and those changed since a release (the browse page's count and filter)
    Index("ix_precinct_status_released_number", "election_id", "released_number"),
)

#: Revision 0015: the number of precinct_status rows per county and state (kind ``county``: key the county) and
#: per quarter hour of the first entry (kind ``first``: key the quarter number, state ""), kept with the rows
#: (caucus.ledger.derived), so the night page reads a few thousand counts, not a row per precinct.
status_counts = Table(
    "status_counts",
    metadata,
    Column("election_id", Integer, ForeignKey("elections.id"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("n", Integer, nullable=False),
)


# Revision 0016 (issue 15): each precinct's readiness before the night (caucus.ledger.readiness), kept in the same
# transaction as what changes it (a card issued, rotated or revoked; a chair's sign-in or failed sign-in).
# Derived data, rebuildable from ``credentials``, ``signin_attempts`` and the audit log's ``session.test``
# events: a precinct without a row has no card, no sign-in and no failed sign-in.
precinct_readiness = Table(
    "precinct_readiness",
    metadata,
    Column("precinct_id", Integer, ForeignKey("precincts.id"), primary_key=True, autoincrement=False),
    Column("election_id", Integer, ForeignKey("elections.id"), nullable=False),
    #: copies of the precinct's county and code (the readiness page groups and sorts by them without a join)
    Column("county", String(100), nullable=False),
    Column("code", String(100), nullable=False),
    #: the precinct has an active card
    Column("credential", Boolean, nullable=False),
    #: a successful sign-in (``signin_attempts`` outcome ok)
    Column("signed_in", Boolean, nullable=False),
    #: the chair used the app's "test your sign-in" (audit ``session.test`` ok)
    Column("tested", Boolean, nullable=False),
    #: sign-ins refused for a bad credential
    Column("failed", Integer, nullable=False),
    # the list to phone: a card, no sign-in, most failed sign-ins first
    Index("ix_precinct_readiness_phone", "election_id", "credential", "signed_in", "failed", "county", "code"),
)

#: Revision 0016: per county, how many precincts have a card (``what`` credential), have signed in (signed-in),
#: have tested their sign-in (tested): kept with the rows, so the readiness page reads a few thousand counts.
readiness_counts = Table(
    "readiness_counts",
    metadata,
    Column("election_id", Integer, ForeignKey("elections.id"), primary_key=True),
    Column("county", String(100), primary_key=True),
    Column("what", String(12), primary_key=True),
    Column("n", Integer, nullable=False),
)

#: Revision 0018 (issue 15): per preference group, the SDEs of every precinct's newest released record of the
#: current epoch summed (an exact decimal as text), kept by each release's transaction with ``released_seq``
#: (caucus.ledger.derived), so the campaigns' cross-check reads the statewide released SDEs, not every record.
released_sde_totals = Table(
    "released_sde_totals",
    metadata,
    Column("election_id", Integer, ForeignKey("elections.id"), primary_key=True),
    Column("grp", String(200), primary_key=True),
    Column("sde", Text, nullable=False),
)

#: Revision 0019 (issue 15): the parts of release manifests (caucus.publish.manifest), by content: a release's
#: ``manifest`` row lists its parts by sha256, and each part's text is stored once per election however many
#: releases share it, so a release records the parts it changed, not every file of the state.
manifest_parts = Table(
    "manifest_parts",
    metadata,
    Column("election_id", Integer, ForeignKey("elections.id"), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("body", Text, nullable=False),
)
