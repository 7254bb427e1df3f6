"""Browser sessions in the database: the store itself, and two replicas of the server on one
database where a person signed in on one is signed in on the other, and signed out on both."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from oversight import db
from oversight.api.app import create_app
from oversight.auth.dbsessions import DatabaseSessionStore, WebSession
from oversight.auth.sessions import store_key
from tests.support.oidc import MockProvider
from tests.ui.conftest import demo_graphs, ui_settings


@pytest.fixture
def sessions(database_url: str):
    engine = db.create_db_engine(database_url)
    db.ensure_schema(database_url, engine, auto_upgrade=True)
    yield db.session_factory(engine)
    engine.dispose()


async def test_the_store_saves_loads_expires_and_forgets(sessions):
    now = [dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)]
    store = DatabaseSessionStore(lambda: sessions, clock=lambda: now[0])
    key = store_key("a-session-id")
    await store.save(key, {"principal": {"sub": "dana"}, "csrf": "t"}, max_age=60)
    assert await store.load(key) == {"principal": {"sub": "dana"}, "csrf": "t"}
    await store.save(key, {"csrf": "u"}, max_age=60)  # saved again: replaced, not duplicated
    assert await store.load(key) == {"csrf": "u"}
    with sessions() as session:
        assert session.scalars(select(WebSession.key)).all() == [key]  # a digest, not the id
    now[0] += dt.timedelta(seconds=61)
    assert await store.load(key) is None
    await store.delete(key)
    with sessions() as session:
        assert session.get(WebSession, key) is None


def _sign_in(client: TestClient, provider: MockProvider, subject: str) -> None:
    login = client.get("/auth/login", params={"next": "/"})
    assert login.status_code == 302
    callback = asyncio.run(provider.sign_in(login.headers["location"], subject))
    parts = urlsplit(callback)
    done = client.get(f"{parts.path}?{parts.query}")
    assert done.status_code == 303, done.text


def test_a_session_started_on_one_replica_works_on_the_other(oidc_mock_provider, database_url,
                                                             tmp_path_factory):
    home = tmp_path_factory.mktemp("replicas")
    auth = oidc_mock_provider.auth_settings(cookie_secure=False)
    assert auth.session_store == "database"
    one = create_app(ui_settings(home, database_url), auth=auth, setup_graphs=demo_graphs)
    two = create_app(ui_settings(home, database_url), auth=auth, setup_graphs=demo_graphs,
                     background=False)
    with TestClient(one, follow_redirects=False) as a, TestClient(two, follow_redirects=False) as b:
        _sign_in(a, oidc_mock_provider, "dana")
        b.cookies = a.cookies
        inbox = b.get("/")
        assert inbox.status_code == 200 and "Dana DBA" in inbox.text and "Inbox</h1>" in inbox.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', inbox.text)
        assert token is not None
        out = b.post("/auth/logout", data={"csrf_token": token.group(1)})
        assert out.status_code == 303
        assert "Sign in with your company account" in a.get("/").text  # gone on both
