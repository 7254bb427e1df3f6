"""The audit ledger for auditors and admins: browse, verify, one record, receipts, exports.

The pages call the ledger services ``/v1/audit`` calls. "Verify the ledger now" is a POST
because it reads everything: it exports the whole ledger to a temporary folder and runs the
offline verifier on it with the published keys, as an auditor would with a download. Its
result is rendered in the POST's own response rather than behind a redirect, so that no URL
can claim a verification that did not run.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from oversight.api.deps import require_any_role
from oversight.approvals.visibility import AUDIT_ROLES
from oversight.auth.csrf import uses_bearer_token, verify_csrf
from oversight.auth.forms import urlencoded_form
from oversight.auth.identity import Principal
from oversight.errors import LedgerRequestInvalid, NotSealedYet, RecordNotFound
from oversight.ledger import export, keys
from oversight.ledger import service as ledger
from oversight.ledger.models import LedgerRecord
from oversight.ui.pages import Person, error_page, log, page_router, render
from oversight_audit import AuditError, BundleError, VerificationError, verify_bundle, verify_chain

router = page_router()
PAGE = 50
MAX_SEQ = 2**62
DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_verifying = threading.Lock()  # one full verification at a time: each reads the whole ledger


def _auditor(principal: Principal) -> None:
    require_any_role(principal, AUDIT_ROLES, "the audit ledger")


def _day(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LedgerRequestInvalid(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


@dataclass(frozen=True)
class LedgerFilters:
    """What the browser asked to see; ``until`` is inclusive (the whole day)."""

    since: dt.date | None = None
    until: dt.date | None = None
    thread: str = ""
    actor: str = ""
    action: str = ""

    def conditions(self) -> list[ColumnElement[bool]]:
        found = []
        if self.since is not None:
            found.append(LedgerRecord.time >= _start_of(self.since))
        if self.until is not None:
            found.append(LedgerRecord.time < _start_of(self.until + dt.timedelta(days=1)))
        if self.thread:
            found.append(LedgerRecord.thread_id == self.thread)
        if self.actor:
            found.append(LedgerRecord.actor.contains(self.actor, autoescape=True))
        if self.action:
            found.append(LedgerRecord.action == self.action)
        return found

    def query(self, **extra: Any) -> str:
        values = {"since": self.since, "until": self.until, "thread": self.thread,
                  "actor": self.actor, "action": self.action, **extra}
        return urlencode({k: str(v) for k, v in values.items() if v not in (None, "")})


@dataclass(frozen=True)
class Verification:
    """The result of "Verify the ledger now", for the page."""

    outcome: Literal["intact", "broken", "nothing", "busy"]
    seconds: float = 0.0
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoint_size: int | None = None
    seq: int | None = None
    message: str | None = None


def verify_ledger(request: Request) -> Verification:
    """Export every sealed record to a temporary bundle and run the offline verifier on it."""
    settings = request.app.state.settings
    started = time.monotonic()
    with (tempfile.TemporaryDirectory(prefix="oversight-verify-") as tmp,
          request.app.state.read_sessions() as session):
        trusted = keys.published_keys(session, settings)
        try:
            export.export_bundle(session, Path(tmp) / "bundle", origin=settings.ledger_origin,
                                 keys=trusted)
            report = verify_bundle(Path(tmp) / "bundle", keys=trusted)
        except RecordNotFound:
            return Verification("nothing", message="no record is sealed yet")
        except NotSealedYet:
            return Verification("nothing", message="the newest records are not covered by a "
                                "checkpoint yet; try again in a moment")
        except AuditError as exc:
            failure = exc if isinstance(exc, VerificationError) else (
                _first_failure(session, Path(tmp) / "records.jsonl") or exc)
            seq = failure.seq if isinstance(failure, VerificationError) else (
                failure.line - 1 if isinstance(failure, BundleError) and failure.line else None)
            return Verification("broken", time.monotonic() - started, ledger.tree_size(session),
                                seq=seq, message=str(failure))
    return Verification("intact", time.monotonic() - started, report.record_count,
                        first_seq=report.first_seq, last_seq=report.last_seq,
                        checkpoint_size=report.checkpoint_size)


def _first_failure(session: Session, path: Path) -> AuditError | None:
    """The export's writer refuses a stored line whose hash or link is wrong before the
    verifier sees it: the verifier's chain check over the lines as stored locates it."""
    with path.open("wb") as out:
        for record in ledger.iter_records(session):
            out.write(record.line.encode() + b"\n")
    try:
        verify_chain(path)
    except AuditError as exc:
        return exc
    return None


def _row(record: LedgerRecord) -> dict[str, Any]:
    parsed = ledger.record_dict(record)
    return {**parsed, "thread_id": record.thread_id, "approval_id": record.approval_id}


def _ledger_page(request: Request, filters: LedgerFilters, before: int | None = None,
                 verification: Verification | None = None) -> HTMLResponse:
    settings = request.app.state.settings
    conditions = filters.conditions()
    with request.app.state.read_sessions() as session:
        query = select(LedgerRecord).where(*conditions)
        if before is not None:
            query = query.where(LedgerRecord.seq < before)
        rows = session.scalars(query.order_by(LedgerRecord.seq.desc()).limit(PAGE + 1)).all()
        size = ledger.tree_size(session)
        matching = size if not conditions else int(session.scalar(
            select(func.count()).select_from(LedgerRecord).where(*conditions)) or 0)
        records = [_row(r) for r in rows[:PAGE]]
        actions = list(session.scalars(select(LedgerRecord.action).distinct()
                                       .order_by(LedgerRecord.action)))
        queued = ledger.pending_count(session)
        checkpoint = ledger.latest_checkpoint(session)
        verifier_keys = [str(k) for k in keys.published_keys(session, settings)]
    older = f"/audit?{filters.query(before=records[-1]['seq'])}" if len(rows) > PAGE else None
    return render(request, "audit.html", records=records, matching=matching, actions=actions,
                  filters=filters, filtered=bool(conditions), before=before, older_url=older,
                  verification=verification, size=size, queued=queued, checkpoint=checkpoint,
                  verifier_keys=verifier_keys)


@router.get("/audit", response_class=HTMLResponse)
def ledger_browser(
    request: Request, principal: Person,
    since: Annotated[str | None, Query(max_length=20)] = None,
    until: Annotated[str | None, Query(max_length=20)] = None,
    thread: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=600)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
) -> HTMLResponse:
    """Sealed records newest first, filtered; the checkpoint; verification and export."""
    _auditor(principal)
    filters = LedgerFilters(since=_day(since, "from"), until=_day(until, "to"),
                            thread=(thread or "").strip(), actor=(actor or "").strip(),
                            action=action or "")
    return _ledger_page(request, filters, before)


@router.post("/audit/verify", response_class=HTMLResponse)
async def verify_now(request: Request, principal: Person) -> HTMLResponse:
    """Verify the whole ledger with the offline verifier; the result is on the page."""
    _auditor(principal)
    form = await urlencoded_form(request)
    if not uses_bearer_token(request):
        verify_csrf(request, form.get("csrf_token"))
    if not _verifying.acquire(blocking=False):
        result = Verification("busy")
    else:
        try:
            result = await run_in_threadpool(verify_ledger, request)
        finally:
            _verifying.release()
    log.info("audit.verified", outcome=result.outcome, records=result.records, seq=result.seq,
             seconds=round(result.seconds, 3), by=principal.id)
    return await run_in_threadpool(_ledger_page, request, LedgerFilters(), None, result)


def _queued(session: Session, seq: int) -> bool:
    """True when ``seq`` is the number a record waiting for the sequencer will get."""
    size = ledger.tree_size(session)
    return size <= seq < size + ledger.pending_count(session)


def _sealed_shortly(request: Request, seq: int) -> HTMLResponse:
    return error_page(request, 409, "Not sealed yet",
                      f"Record {seq} is queued and will be sealed within a few seconds. "
                      "Reload this page shortly.")


@router.get("/audit/records/{seq}", response_class=HTMLResponse)
def record_page(seq: Annotated[int, PathParam(ge=0, le=MAX_SEQ)], request: Request,
                principal: Person) -> HTMLResponse:
    """One sealed record: its fields, its canonical line, and its receipt."""
    _auditor(principal)
    with request.app.state.read_sessions() as session:
        try:
            row = ledger.get_record(session, seq=seq)
        except RecordNotFound:
            if _queued(session, seq):
                return _sealed_shortly(request, seq)
            raise
        record = _row(row)
        payload = ledger.get_payload(session, seq=seq)
        checkpoint = ledger.latest_checkpoint(session)
        size = ledger.tree_size(session)
    return render(request, "audit_record.html", record=record, hash=row.hash, prev=row.prev,
                  pretty=json.dumps(ledger.record_dict(row), indent=2, ensure_ascii=False),
                  payload=payload, covered=checkpoint is not None and checkpoint.tree_size > seq,
                  checkpoint=checkpoint, has_next=seq + 1 < size)


@router.get("/audit/records/{seq}/receipt", response_model=None)
def receipt(seq: Annotated[int, PathParam(ge=0, le=MAX_SEQ)], request: Request,
            principal: Person) -> Response:
    """A receipt for one record, as a JSON download that verifies on its own."""
    _auditor(principal)
    with request.app.state.read_sessions() as session:
        try:
            built = export.build_receipt(
                session, seq=seq, keys=keys.published_keys(session, request.app.state.settings))
        except NotSealedYet:
            return _sealed_shortly(request, seq)
        except RecordNotFound:
            if _queued(session, seq):
                return _sealed_shortly(request, seq)
            raise
    return Response(built.to_json(), media_type="application/json", headers={
        **DOWNLOAD_HEADERS,
        "Content-Disposition": f'attachment; filename="oversight-receipt-{seq}.json"'})


def zip_bundle(request: Request, since: dt.date | None, until: dt.date | None
               ) -> tuple[Path, str]:
    """Export a bundle into a new temporary folder and zip it; the zip and its download name."""
    settings = request.app.state.settings
    folder = Path(tempfile.mkdtemp(prefix="oversight-export-"))
    try:
        with request.app.state.read_sessions() as session:
            found = export.export_bundle(
                session, folder / "bundle", origin=settings.ledger_origin,
                keys=keys.published_keys(session, settings),
                since=_start_of(since) if since else None,
                until=_start_of(until + dt.timedelta(days=1)) if until else None)
        name = f"oversight-ledger-{found.first_seq}-{found.last_seq}"
        archive = folder / f"{name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for file in sorted((folder / "bundle").rglob("*")):
                if file.is_file():
                    zipped.write(file, f"{name}/{file.relative_to(folder / 'bundle')}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return archive, f"{name}.zip"


@router.get("/audit/export", response_model=None)
async def export_zip(
    request: Request, principal: Person,
    since: Annotated[str | None, Query(max_length=20)] = None,
    until: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The ledger (or the records of a date range) as a bundle in a ``.zip``."""
    _auditor(principal)
    first, last = _day(since, "from"), _day(until, "to")
    archive, name = await run_in_threadpool(zip_bundle, request, first, last)
    log.info("audit.exported", file=name, by=principal.id)
    return FileResponse(archive, media_type="application/zip", filename=name,
                        headers=DOWNLOAD_HEADERS,
                        background=BackgroundTask(shutil.rmtree, archive.parent, True))
