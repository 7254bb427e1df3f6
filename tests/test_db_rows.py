"""``insert_row`` and ``write_changes``: one Core statement where the unit of work would flush,
with the ORM object left as a flush would leave it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from oversight import db
from oversight.approvals.models import ApprovalRequest
from oversight.gateway.models import Thread

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def sessions(database_url):
    engine = db.create_db_engine(database_url)
    yield db.session_factory(engine)
    engine.dispose()


@pytest.fixture
def statements(sessions):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.split()[0].upper())

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _thread(session) -> str:
    thread_id = str(uuid.uuid4())
    session.add(Thread(id=thread_id, graph="g", status="running", created_at=NOW, updated_at=NOW))
    return thread_id


def _request(thread_id: str, **columns) -> ApprovalRequest:
    return ApprovalRequest(
        id=str(uuid.uuid4()), thread_id=thread_id, interrupt_id="i", graph="g", node="n",
        action="a", shape="raw", payload="{}", payload_digest="sha256:x",
        original_digest="sha256:x", status="pending", policy_version="v1", rule_id="r",
        requirement="{}", created_at=NOW, **columns)


def test_insert_row_writes_the_row_with_defaults_and_attaches_the_object(sessions, statements):
    with sessions() as session, session.begin():
        thread_id = _thread(session)  # pending: insert_row flushes it first (the foreign key)
        request = _request(thread_id, summary="s")
        db.insert_row(session, request)
        # the unset columns took their defaults on the object too: nothing left to load
        assert (request.part, request.parts, request.escalation_step, request.closed_at) == (
            0, 1, 0, None)
        assert request in session and not session.dirty and not session.new
        statements.clear()
        request.status = "approved"  # a change after the insert is flushed as an UPDATE
    assert statements[:1] == ["UPDATE"]
    with sessions() as session:
        row = session.get(ApprovalRequest, request.id)
        assert (row.status, row.part, row.parts, row.summary, row.created_at) == (
            "approved", 0, 1, "s", NOW)


def test_insert_row_without_attach_leaves_the_session_alone(sessions):
    with sessions() as session, session.begin():
        thread_id = _thread(session)
        request = _request(thread_id)
        db.insert_row(session, request, attach=False)
        assert request not in session
    with sessions() as session:
        assert session.get(ApprovalRequest, request.id).status == "pending"


def test_insert_row_fails_at_once_on_a_duplicate_and_rolls_back_with_the_transaction(sessions):
    with sessions() as session, session.begin():
        thread_id = _thread(session)
        first = _request(thread_id)
        db.insert_row(session, first)
    second_thread = str(uuid.uuid4())
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.add(Thread(id=second_thread, graph="g", status="running", created_at=NOW,
                           updated_at=NOW))
        clone = _request(thread_id)
        clone.id, clone.status = first.id, "approved"
        db.insert_row(session, clone)  # raises here, not at some later flush
    with sessions() as session:  # nothing of the failed transaction was kept
        assert session.get(ApprovalRequest, first.id).status == "pending"
        assert session.get(Thread, second_thread) is None


def test_write_changes_updates_only_what_changed_and_leaves_the_object_clean(
        sessions, statements):
    with sessions() as session, session.begin():
        thread_id = _thread(session)
        request = _request(thread_id, reason="kept")
        db.insert_row(session, request)
    with sessions() as session, session.begin():
        loaded = session.get(ApprovalRequest, request.id, with_for_update=True)
        loaded.status, loaded.closed_at = "resumed", NOW + dt.timedelta(minutes=1)
        statements.clear()
        db.write_changes(session, loaded)
        assert statements == ["UPDATE"]
        assert not session.dirty  # the flush at commit has nothing left to write
        db.write_changes(session, loaded)  # unchanged: no statement
        assert statements == ["UPDATE"]
        session.flush()
        assert statements == ["UPDATE"]
    with sessions() as session:
        row = session.get(ApprovalRequest, request.id)
        assert (row.status, row.closed_at, row.reason) == (
            "resumed", NOW + dt.timedelta(minutes=1), "kept")


def test_write_changes_leaves_a_pending_object_to_the_flush(sessions, statements):
    with sessions() as session, session.begin():
        thread_id = _thread(session)
        session.flush()
        request = _request(thread_id)
        session.add(request)
        request.status = "denied"
        statements.clear()
        db.write_changes(session, request)
        assert statements == []
    with sessions() as session:
        assert session.get(ApprovalRequest, request.id).status == "denied"


def test_insert_row_refuses_to_guess_a_computed_default(sessions):
    from oversight.gateway.models import ResumeJob

    with sessions() as session, session.begin():
        thread_id = _thread(session)
        session.flush()
        job = ResumeJob(thread_id=thread_id, interrupt_id="i", status="queued", attempts=0,
                        created_at=NOW)  # its id comes from the database
        with pytest.raises(TypeError, match=r"ResumeJob\.id must be set"):
            db.insert_row(session, job)
        session.rollback()
