"""Revision 0012 on a database that already has staff (accounts and sessions) at 0011: the role CHECK widens
to ``campaign`` (on SQLite in place, the rows untouched), and still refuses an unknown role. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from caucus.ledger import make_engine, upgrade
from caucus.ledger.schema import staff_sessions, staff_users

NOW = datetime(2020, 2, 3, 18, 0, tzinfo=UTC)


def _user(username: str, role: str, campaign: str | None = None) -> dict[str, object]:
    values: dict[str, object] = {"username": username, "display_name": username, "role": role, "password_hash": "x",
                                 "status": "active", "created_at": NOW, "disabled_at": None}
    if campaign is not None:
        values["campaign"] = campaign
    return values


def test_0012_widens_the_role_check_and_keeps_the_staff(db_url: str) -> None:
    upgrade(db_url, "0011")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # at 0011: the table has no campaign column yet
            user_id = conn.execute(staff_users.insert().values(**_user("ada", "admin"))
                                   .returning(staff_users.c.id)).scalar_one()
            conn.execute(staff_sessions.insert().values(user_id=user_id, token_hash="h", client="c", created_at=NOW,
                                                        last_seen_at=NOW, expires_at=NOW + timedelta(hours=1)))
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(staff_users.insert().values(**_user("sam", "campaign", "Sanders")))
            assert [(r.username, r.role, r.campaign) for r in conn.execute(
                select(staff_users).order_by(staff_users.c.id))] == [("ada", "admin", None),
                                                                     ("sam", "campaign", "Sanders")]
            assert conn.execute(select(staff_sessions.c.user_id)).scalar_one() == user_id
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(staff_users.insert().values(**_user("merlin", "wizard")))
    finally:
        engine.dispose()
