"""The trivial FastAPI app of ``bench_ingest.py``'s baseline: one JSON POST validated by a pydantic model and
answered with a small JSON document, nothing else (no database, no middleware), on the same uvicorn."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


class Stage(BaseModel):
    stage: str
    counts: dict[str, int] | None = None
    delegates: dict[str, int] | None = None
    attendance: int | None = None
    chance: list[dict[str, Any]] | None = None


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/reports", status_code=201)
    def report(body: Stage) -> dict[str, Any]:
        return {"stage": body.stage, "seq": 1, "replayed": False}

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
