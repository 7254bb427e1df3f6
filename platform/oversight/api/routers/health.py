"""``/healthz`` (process up), ``/readyz`` (database, checkpointer, sequencer), ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from oversight.api import metrics

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers, the checkpointer answers and the sequencer runs."""
    state = request.app.state
    checks: dict[str, Any] = {}

    def database() -> None:
        with state.sessions() as session:
            session.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(database), timeout=5)
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, never raises
        checks["database"] = f"failing: {type(exc).__name__}"
    try:
        await asyncio.wait_for(state.gateway.checkpointer.aget_tuple(
            {"configurable": {"thread_id": "oversight-readiness", "checkpoint_ns": ""}}), 5)
        checks["checkpointer"] = "ok"
    except Exception as exc:
        checks["checkpointer"] = f"failing: {type(exc).__name__}"
    sequencer = state.sequencer
    checks["sequencer"] = ("ok" if sequencer.running and sequencer.last_error is None
                           else f"failing: {sequencer.last_error or 'not running'}")
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics")
async def prometheus(request: Request) -> Response:
    """Prometheus text exposition."""
    body = await asyncio.to_thread(metrics.render, request.app.state)
    return Response(body, media_type=metrics.CONTENT_TYPE)
