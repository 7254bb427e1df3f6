"""One place that renders every error as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from oversight.errors import PROBLEM_BASE, OversightError
from oversight.logs import get_logger

MEDIA_TYPE = "application/problem+json"
log = get_logger("api")


def problem_response(status: int, body: dict[str, Any],
                     headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _pointer(location: tuple[Any, ...]) -> str:
    # FastAPI locations start with where the value came from: body, query, path, header.
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location[1:]]
    return "/" + "/".join(parts)


async def _oversight_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OversightError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(exc.status, {**exc.problem(), "instance": request.url.path}, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"pointer": _pointer(tuple(e.get("loc", ()))), "in": (e.get("loc") or ["?"])[0],
               "detail": e.get("msg", "invalid")} for e in exc.errors()]
    first = errors[0] if errors else {"pointer": "/", "detail": "invalid request"}
    return problem_response(422, {
        "type": PROBLEM_BASE + "invalid-request", "title": "The request is not valid",
        "status": 422, "detail": f"{first['pointer']}: {first['detail']}",
        "errors": errors, "instance": request.url.path})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem_response(exc.status_code, {
        "type": PROBLEM_BASE + f"http-{exc.status_code}", "title": str(exc.detail),
        "status": exc.status_code, "detail": str(exc.detail), "instance": request.url.path},
        dict(exc.headers) if exc.headers else None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("api.unhandled_error", path=request.url.path, error=type(exc).__name__)
    return problem_response(500, {
        "type": PROBLEM_BASE + "internal", "title": "Internal error", "status": 500,
        "detail": "something went wrong on our side; the request id is in the logs",
        "instance": request.url.path})


def install_problem_handlers(app: FastAPI) -> None:
    """Render Oversight errors, validation errors and HTTP errors as problem+json."""
    app.add_exception_handler(OversightError, _oversight_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
