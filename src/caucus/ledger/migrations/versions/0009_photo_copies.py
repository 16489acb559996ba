"""Public copies of worksheet photos: re-encoded, every metadata block stripped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

``photo_copies`` keeps, for each stored worksheet photo, the copy that releases publish: decoded within a
pixel bound and re-encoded by the server (no EXIF or GPS position, no XMP, ICC profile, comments or PNG text
chunks, nothing appended after the image). The original in ``photos`` stays for HQ only. One copy per photo
(its id is the key), made when the photo is stored (or, for a photo stored before this revision, when a
release first needs it). Append-only, like ``photos``.

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
MESSAGE = "photo copies are append-only"


def upgrade() -> None:
    op.create_table(
        "photo_copies",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("made_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("photo_id", name=op.f("pk_photo_copies")),
        sa.ForeignKeyConstraint(["photo_id"], ["photos.id"], name=op.f("fk_photo_copies_photo_id_photos")),
        sa.CheckConstraint("size > 0 AND width > 0 AND height > 0", name=op.f("ck_photo_copies_dimensions")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # caucus_append_only() was created by revision 0001.
        op.execute("CREATE TRIGGER photo_copies_append_only BEFORE UPDATE OR DELETE ON photo_copies "
                   f"FOR EACH ROW EXECUTE FUNCTION caucus_append_only('{MESSAGE}')")
        op.execute("CREATE TRIGGER photo_copies_no_truncate BEFORE TRUNCATE ON photo_copies "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION caucus_append_only('{MESSAGE}')")
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER photo_copies_no_{event.lower()} BEFORE {event} ON photo_copies "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    else:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")


def downgrade() -> None:
    raise NotImplementedError("caucus migrations are forward-only; write a new revision instead")
