"""The FastAPI application: routers, problems, middleware, and the background work.

``create_app`` builds everything from settings; the lifespan opens the database, the
checkpointer and the gateway, and runs in the background: the ledger sequencer (a thread),
a runner that picks up resumes queued by other processes, and policy reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from oversight import __version__, db
from oversight.api.metrics import Metrics
from oversight.api.middleware import RequestContext
from oversight.api.problems import install_problem_handlers
from oversight.api.routers import approvals, audit, health, policies, stops, threads
from oversight.auth.settings import AuthSettings
from oversight.config import Settings
from oversight.gateway.runtime import open_gateway, policy_paths
from oversight.gateway.service import Gateway
from oversight.ledger import keys
from oversight.ledger import service as ledger
from oversight.ledger.actors import SystemActor
from oversight.ledger.sealing import Sequencer
from oversight.logs import configure_logging, get_logger
from oversight.notify.delivery import Notifier
from oversight.policy.store import PolicyStore
from oversight.sweeper.loop import SweeperOptions, run_forever

log = get_logger("server")
GraphSetup = Callable[[Gateway], None]
ReadyHook = Callable[[Gateway], Awaitable[None]]


async def _every(seconds: float, work: Callable[[], Any], name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            result = work()
            if asyncio.iscoroutine(result):
                await result
        except Exception as exc:  # keep the loop alive; the failure is logged
            log.error(f"{name}.failed", error=f"{type(exc).__name__}: {exc}")


def _record_policy(app: FastAPI, event: dict[str, Any], version: str) -> None:
    with app.state.sessions() as session, session.begin():
        ledger.append_record(session, action="policy.loaded", actor=SystemActor("server"),
                             policy=version, data=event)


def create_app(
    settings: Settings,
    *,
    auth: AuthSettings | None = None,
    setup_graphs: GraphSetup | None = None,
    background: bool = True,
    gateway_options: Mapping[str, Any] | None = None,
    ui: bool = True,
    on_ready: ReadyHook | None = None,
) -> FastAPI:
    """The Oversight server application (the UI comes with sign-in: it needs ``auth``)."""
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url
        engine = db.create_db_engine(url)
        db.ensure_schema(url, engine, auto_upgrade=settings.is_embedded_default)
        sessions = db.session_factory(engine)
        read_engine = db.create_db_engine(url, read_only=True)
        store = PolicyStore(policy_paths(settings))
        signer = keys.load_signer(settings)
        sequencer = Sequencer(sessions, signer=signer, origin=settings.ledger_origin,
                              interval=settings.seal_interval_seconds,
                              batch_size=settings.seal_batch_size)
        app.state.settings, app.state.sessions = settings, sessions
        app.state.read_sessions = db.session_factory(read_engine)
        app.state.policy_store, app.state.sequencer = store, sequencer
        app.state.metrics = Metrics(app.state)
        _record_policy(app, {"version": store.current.version, "reason": "server start"},
                       store.current.version)
        sequencer.start()
        tasks: list[asyncio.Task[Any]] = []
        try:
            async with open_gateway(settings, sessions, evaluate=store.evaluate,
                                    **dict(gateway_options or {})) as gateway:
                app.state.gateway = gateway
                if setup_graphs is not None:
                    setup_graphs(gateway)
                if on_ready is not None:
                    await on_ready(gateway)
                if background:
                    tasks.append(asyncio.create_task(_every(
                        settings.runner_interval_seconds, gateway.run_jobs, "runner")))
                    sweeping = SweeperOptions.from_settings(settings)
                    if sweeping.enabled:
                        tasks.append(asyncio.create_task(run_forever(
                            sweeping.sweeper(gateway), interval=sweeping.interval,
                            stop=asyncio.Event())))
                    notifier = Notifier(sessions, settings.notify_channels,
                                        public_url=auth.public_url if auth else None)
                    tasks.append(asyncio.create_task(_every(
                        settings.notify_interval_seconds, notifier.deliver_due, "notifier")))
                    if settings.policy_reload_seconds:
                        tasks.append(asyncio.create_task(_every(
                            settings.policy_reload_seconds, lambda: _reload(app), "policy")))
                log.info("server.started", version=__version__, database=engine.dialect.name,
                         graphs=gateway.registry.names(), policy=store.current.version)
                yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            sequencer.stop(final_seal=True)
            engine.dispose()
            read_engine.dispose()

    app = FastAPI(title="Oversight", version=__version__, lifespan=lifespan,
                  description="Approval and audit gateway for LangGraph agents.")
    install_problem_handlers(app)
    if auth is not None:
        from oversight.auth.dbsessions import DatabaseSessionStore
        from oversight.auth.wiring import install_auth

        store = (DatabaseSessionStore(lambda: app.state.sessions, lambda: app.state.read_sessions)
                 if auth.session_store == "database" else None)
        install_auth(app, auth, store=store)
        if ui:
            from oversight.ui import install_ui

            install_ui(app)
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes)
    for module in (health, threads, approvals, audit, policies, stops):
        app.include_router(module.router)
    return app


async def _reload(app: FastAPI) -> None:
    store: PolicyStore = app.state.policy_store
    event = await asyncio.to_thread(store.reload_if_changed, None)
    if event is not None:
        await asyncio.to_thread(_record_policy, app, event.as_dict(), event.new_version)
