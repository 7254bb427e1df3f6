"""Who may call what: every route × (anonymous, each role, the requester on their own
request, a user of another issuer). Lists never show what the caller may not see."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth_header
from tests.support.oidc import fresh_jwt_issuer  # noqa: F401  (a fixture)

PEOPLE = {  # name -> roles
    "riley": ("requester",), "dana": ("dba",), "ava": ("auditor",),
    "pat": ("policy_author",), "adam": ("admin",),
}


@pytest.fixture(scope="module")
def setup(client, jwt_issuer):
    token = jwt_issuer.mint("riley", roles=["requester"], amr=["pwd"])
    thread = client.post("/v1/threads", headers=auth_header(token), json={
        "graph": "sql_agent", "input": {"request": "delete users", "database": "production"}})
    assert thread.status_code == 201
    body = thread.json()
    return {"thread": body["id"], "approval": body["pending"][0]["id"]}


def _headers(who, jwt_issuer, other_issuer):
    if who == "anonymous":
        return {}
    if who == "other-issuer":
        return auth_header(other_issuer.mint("dana", roles=["dba", "admin", "auditor"]))
    return auth_header(jwt_issuer.mint(who, roles=list(PEOPLE[who]), amr=["pwd", "mfa"]))


MATRIX = [
    # (method, path, {who: status})
    ("GET", "/v1/approvals", {"anonymous": 401, "riley": 200, "dana": 200, "ava": 200,
                              "pat": 200, "adam": 200, "other-issuer": 401}),
    ("GET", "/v1/approvals/{approval}", {"anonymous": 401, "riley": 200, "dana": 200,
                                         "ava": 200, "pat": 404, "adam": 200,
                                         "other-issuer": 401}),
    ("GET", "/v1/threads/{thread}", {"anonymous": 401, "riley": 200, "dana": 200, "ava": 200,
                                     "pat": 404, "adam": 200, "other-issuer": 401}),
    ("GET", "/v1/audit/records", {"anonymous": 401, "riley": 403, "dana": 403, "ava": 200,
                                  "pat": 403, "adam": 200, "other-issuer": 401}),
    ("GET", "/v1/audit/keys", {"anonymous": 401, "riley": 403, "dana": 403, "ava": 200,
                               "pat": 403, "adam": 200, "other-issuer": 401}),
    ("GET", "/v1/policies", {"anonymous": 401, "riley": 403, "dana": 403, "ava": 403,
                             "pat": 200, "adam": 200, "other-issuer": 401}),
    ("GET", "/v1/stops", {"anonymous": 401, "riley": 403, "dana": 403, "ava": 403,
                          "pat": 403, "adam": 200, "other-issuer": 401}),
    ("POST", "/v1/stops", {"anonymous": 401, "riley": 403, "dana": 403, "ava": 403,
                           "pat": 403, "other-issuer": 401}),
    ("POST", "/v1/threads", {"anonymous": 401, "other-issuer": 401}),
]


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX,
                         ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_authorization_matrix(client, setup, jwt_issuer, fresh_jwt_issuer,  # noqa: F811
                              method, path, expected):
    url = path.format(**setup)
    body = {"scope": "thread", "target": setup["thread"], "reason": "matrix"} \
        if path == "/v1/stops" else {"graph": "sql_agent", "input": {}}
    for who, status in expected.items():
        response = client.request(method, url, headers=_headers(who, jwt_issuer, fresh_jwt_issuer),
                                  json=body if method == "POST" else None)
        assert response.status_code == status, (who, response.text)
        if status >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")


def test_lists_show_only_what_each_caller_may_see(client, setup, jwt_issuer):
    def listed(who):
        response = client.get("/v1/approvals", headers=_headers(who, jwt_issuer, None))
        return {item["id"] for item in response.json()["items"]}

    assert setup["approval"] in listed("riley")  # their own request
    assert setup["approval"] in listed("dana")  # a DBA may decide it
    assert setup["approval"] in listed("ava")  # auditors see everything
    assert setup["approval"] not in listed("pat")  # a policy author is no approver
    ops = auth_header(jwt_issuer.mint("olga", roles=["operator"]))
    assert setup["approval"] not in {i["id"] for i in client.get(
        "/v1/approvals", headers=ops).json()["items"]}
