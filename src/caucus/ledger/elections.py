"""Creating elections and looking them (and their precincts) up."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from caucus.ledger import audit
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.errors import ElectionExists, InvalidElection, UnknownElection, UnknownPrecinct
from caucus.ledger.model import MODES, PRECINCT_KINDS, Election, Mode, PrecinctSpec
from caucus.ledger.schema import elections
from caucus.ledger.schema import precincts as precincts_table

SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _spec_problems(specs: list[PrecinctSpec]) -> list[str]:
    problems: list[str] = []
    for index, spec in enumerate(specs):
        where = f"precinct #{index + 1} ({spec.code!r})"
        for name in ("code", "county", "name"):
            value = getattr(spec, name)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: {name} must be a non-empty string, got {value!r}")
        if spec.kind not in PRECINCT_KINDS:
            problems.append(f"{where}: kind must be 'precinct' or 'satellite', got {spec.kind!r}")
        if spec.delegates is None:
            if spec.kind == "precinct":
                problems.append(f"{where}: a precinct needs a number of delegates (only satellites may omit it)")
        elif isinstance(spec.delegates, bool) or not isinstance(spec.delegates, int) or spec.delegates < 0:
            problems.append(f"{where}: delegates must be a whole number 0 or more, got {spec.delegates!r}")
    duplicates = sorted(code for code, count in Counter(spec.code for spec in specs).items() if count > 1)
    if duplicates:
        problems.append(f"duplicate precinct codes: {', '.join(duplicates)}")
    return problems


def create_election(
    engine: Engine,
    slug: str,
    plan_name: str,
    mode: Mode,
    precincts: Iterable[PrecinctSpec],
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> int:
    """Create an election with its precincts in one transaction; return its id.

    Raises InvalidElection listing every problem at once, or ElectionExists.
    """
    specs = list(precincts)
    problems: list[str] = []
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        problems.append(f"slug must be 1-64 lowercase letters, digits or dashes, got {slug!r}")
    if not isinstance(plan_name, str) or not plan_name.strip():
        problems.append(f"plan_name must be a non-empty string, got {plan_name!r}")
    if mode not in MODES:
        problems.append(f"mode must be 'test' or 'live', got {mode!r}")
    problems.extend(_spec_problems(specs))
    if problems:
        raise InvalidElection(problems)
    created_at = now or utcnow()
    try:
        with write_transaction(engine) as conn:
            if conn.execute(select(elections.c.id).where(elections.c.slug == slug)).first() is not None:
                raise ElectionExists(slug)
            election_id = conn.execute(
                elections.insert()
                .values(slug=slug, plan_name=plan_name, mode=mode, created_at=created_at)
                .returning(elections.c.id)
            ).scalar_one()
            if specs:
                conn.execute(
                    precincts_table.insert(),
                    [
                        {
                            "election_id": election_id,
                            "code": spec.code,
                            "county": spec.county,
                            "name": spec.name,
                            "delegates": spec.delegates,
                            "kind": spec.kind,
                        }
                        for spec in specs
                    ],
                )
            audit.record(
                conn,
                election_id=election_id,
                at=created_at,
                actor=actor,
                action="election.create",
                detail={"slug": slug, "plan_name": plan_name, "mode": mode, "precincts": len(specs)},
                outcome="ok",
            )
    except IntegrityError as exc:  # a concurrent create of the same slug
        raise ElectionExists(slug) from exc
    return cast(int, election_id)


def election_id_for(conn: Connection, slug: str) -> int:
    """The id of election ``slug``; raises UnknownElection."""
    found = conn.execute(select(elections.c.id).where(elections.c.slug == slug)).scalar_one_or_none()
    if found is None:
        raise UnknownElection(slug)
    return cast(int, found)


def precinct_id_for(conn: Connection, election_id: int, election_slug: str, code: str) -> int:
    """The id of precinct ``code`` of the election; raises UnknownPrecinct."""
    found = conn.execute(
        select(precincts_table.c.id).where(precincts_table.c.election_id == election_id, precincts_table.c.code == code)
    ).scalar_one_or_none()
    if found is None:
        raise UnknownPrecinct(election_slug, code)
    return cast(int, found)


def get_election(engine: Engine, slug: str) -> Election:
    with engine.connect() as conn:
        row = conn.execute(select(elections).where(elections.c.slug == slug)).first()
    if row is None:
        raise UnknownElection(slug)
    return Election(id=row.id, slug=row.slug, plan_name=row.plan_name, mode=row.mode, created_at=row.created_at)


def list_precincts(engine: Engine, slug: str) -> list[PrecinctSpec]:
    """The precincts of election ``slug`` in the order they were created."""
    with engine.connect() as conn:
        election_id = election_id_for(conn, slug)
        rows = conn.execute(
            select(precincts_table).where(precincts_table.c.election_id == election_id).order_by(precincts_table.c.id)
        ).all()
    return [_spec(row._mapping) for row in rows]


def _spec(row: Any) -> PrecinctSpec:
    return PrecinctSpec(
        code=row["code"], county=row["county"], name=row["name"], delegates=row["delegates"], kind=row["kind"]
    )
