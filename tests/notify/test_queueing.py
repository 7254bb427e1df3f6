"""Notifications are queued in the transaction that opens the request (or escalates it):
to each channel the rule names, stating the facts a person needs and never the payload."""

from __future__ import annotations

import json

from sqlalchemy import select

from oversight import db
from oversight.db import utcnow
from oversight.demo import graphs as demo
from oversight.demo.users import demo_user
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.runtime import shipped_policies
from oversight.gateway.service import Gateway
from oversight.notify.models import Notification
from oversight.policy import load_policy_set

DELETE = {"request": "delete the users inactive since 2025", "database": "production"}
SELECT = {"request": "count the users", "database": "production"}


async def test_a_request_queues_its_rules_notifications(database_url):
    engine = db.create_db_engine(database_url)
    sessions = db.session_factory(engine)
    policy = load_policy_set([shipped_policies()])
    async with open_checkpointer(database_url) as checkpointer:
        gateway = Gateway(sessions=sessions, checkpointer=checkpointer, evaluate=policy.evaluate)
        gateway.register("sql_agent", demo.sql_agent)
        riley = demo_user("riley", signed_in_at=utcnow())
        waiting = await gateway.start("sql_agent", DELETE, requester=riley)
        passed = await gateway.start("sql_agent", SELECT, requester=riley)
    [request] = waiting.pending
    assert passed.status == "completed"
    with sessions() as session:
        queued = list(session.scalars(select(Notification)
                                      .where(Notification.thread_id.in_([waiting.id, passed.id]))))
    engine.dispose()
    [notice] = queued  # sql-change-data notifies [dba]; the SELECT passed by policy, silently
    assert (notice.channel, notice.event, notice.status) == ("dba", "approval.requested", "queued")
    assert notice.approval_id == request.id
    facts = json.loads(notice.message)
    assert facts["rule"] == "sql-change-data" and facts["approvers"] == "1 of dba"
    assert facts["action"] == "sql.execute" and facts["graph"] == "sql_agent"
    assert facts["deadline"] == request.deadline_at.isoformat()
    assert "payload" not in facts and "query" not in facts  # the payload stays out
    assert facts["summary"] == request.summary  # kept; said only where a channel opts in


def test_the_demo_configures_every_channel_the_shipped_rules_name():
    from oversight.demo.web import DEMO_CHANNELS

    policy = load_policy_set([shipped_policies()])
    named = set()
    for rule in policy.rules:
        requirement = rule.outcome.requirement
        if requirement is not None:
            named.update(requirement.notify)
            for step in requirement.on_timeout.escalate:
                named.update(step.notify)
    assert named and named <= set(DEMO_CHANNELS)  # none fails as "not configured"
