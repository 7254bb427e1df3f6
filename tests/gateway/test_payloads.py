"""Payload JSON-safety: every kind of unsafe value, named by its JSON pointer, with its hint."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from collections import OrderedDict
from decimal import Decimal
from typing import Any, TypedDict

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from oversight.errors import OversightError
from oversight.gateway.payloads import (
    HINTS,
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    UnsafePayload,
    check_json_safe,
    find_unsafe_value,
    json_pointer,
)


@dataclasses.dataclass
class Booking:
    nights: int


class Hotel(pydantic.BaseModel):
    name: str


class Opaque:
    pass


class Colour(enum.StrEnum):
    RED = "red"


def nested_lists(depth: int) -> list[Any]:
    root: list[Any] = []
    inner = root
    for _ in range(depth - 1):
        inner.append([])
        inner = inner[0]
    return root


def unsafe(value: object, **limits: int) -> UnsafePayload:
    with pytest.raises(UnsafePayload) as caught:
        check_json_safe(value, **limits)
    return caught.value


@pytest.mark.parametrize(
    ("value", "pointer", "path", "kind"),
    [
        ({"hotel": {"check_in": dt.date(2025, 1, 2)}}, "/hotel/check_in",
         'payload["hotel"]["check_in"]', "datetime"),
        ({"at": dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.UTC)}, "/at", 'payload["at"]', "datetime"),
        ({"at": dt.time(9, 30)}, "/at", 'payload["at"]', "datetime"),
        ({"stay": dt.timedelta(days=2)}, "/stay", 'payload["stay"]', "timedelta"),
        ({"amount": Decimal("9.99")}, "/amount", 'payload["amount"]', "decimal"),
        ({"blob": [b"raw"]}, "/blob/0", 'payload["blob"][0]', "bytes"),
        ({"blob": bytearray(b"x")}, "/blob", 'payload["blob"]', "bytes"),
        ({"id": uuid.UUID(int=1)}, "/id", 'payload["id"]', "uuid"),
        ({"colour": Colour.RED}, "/colour", 'payload["colour"]', "enum"),
        ({"booking": Booking(nights=2)}, "/booking", 'payload["booking"]', "dataclass"),
        ({"hotel": Hotel(name="Ritz")}, "/hotel", 'payload["hotel"]', "model"),
        ([1, [2, Opaque()]], "/1/1", "payload[1][1]", "object"),
        ({"score": float("nan")}, "/score", 'payload["score"]', "nan"),
        ({"score": float("inf")}, "/score", 'payload["score"]', "infinity"),
        ({"score": float("-inf")}, "/score", 'payload["score"]', "infinity"),
        ({"tags": {"a"}}, "/tags", 'payload["tags"]', "set"),
        ({"tags": frozenset()}, "/tags", 'payload["tags"]', "set"),
        ({"rates": {1: "one"}}, "/rates", 'payload["rates"]', "key"),
        ({"rates": {None: "none"}}, "/rates", 'payload["rates"]', "key"),
        ({"rates": {Colour.RED: "enum key"}}, "/rates", 'payload["rates"]', "key"),
        ({"n": MAX_SAFE_INTEGER + 1}, "/n", 'payload["n"]', "integer"),
        ({"n": -MAX_SAFE_INTEGER - 1}, "/n", 'payload["n"]', "integer"),
        ({"name": "caf\udce9"}, "/name", 'payload["name"]', "surrogate"),
        ({"caf\udce9": 1}, "/caf\udce9", 'payload["caf\\udce9"]', "surrogate"),
        ({"a/b": {"c~d": dt.date(2025, 1, 1)}}, "/a~1b/c~0d", 'payload["a/b"]["c~d"]', "datetime"),
        (dt.date(2025, 1, 1), "", "payload", "datetime"),
    ],
)
def test_each_kind_is_named_by_pointer_path_and_hint(value, pointer, path, kind):
    error = unsafe(value)
    assert (error.unsafe.pointer, error.unsafe.path, error.unsafe.kind) == (pointer, path, kind)
    problem = error.problem()
    assert problem["pointer"] == pointer
    assert problem["path"] == path
    assert problem["hint"] == HINTS[kind]
    assert HINTS[kind] in error.detail
    assert path in error.detail


def test_the_error_is_a_422_problem_for_people():
    error = unsafe({"hotel": {"check_in": dt.date(2025, 1, 2)}})
    assert isinstance(error, OversightError)
    assert error.status == 422
    assert error.problem()["type"] == "https://oversight.dev/problems/unsafe-payload"
    assert error.detail == (
        'payload["hotel"]["check_in"] (datetime.date) is not JSON-safe: convert it with '
        ".isoformat() (at JSON pointer '/hotel/check_in')"
    )
    assert "2025" not in str(error.problem())  # the offending value itself is never echoed


def test_a_non_string_key_is_shown_when_it_is_a_plain_scalar():
    assert "has the key 1 (int)" in unsafe({"rates": {1: "one"}}).detail
    assert "has the key … (tuple)" in unsafe({"rates": {(1, 2): "pair"}}).detail


def test_where_names_the_root():
    with pytest.raises(UnsafePayload) as caught:
        check_json_safe({"x": {1, 2}}, where="input")
    assert caught.value.unsafe.path == 'input["x"]'
    assert caught.value.detail.startswith('input["x"] (set)')


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, -0.0, 1.5, 1e308, "", "é🙂", [], {}, (),
        MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER,
        {"a": [1, 2.5, None, True, "x", {"b": ()}]},
        (1, (2, 3)),  # tuples are arrays: they come back from JSON (and the checkpoint) as lists
        OrderedDict(a=1),
    ],
)
def test_json_safe_values_pass(value):
    check_json_safe(value)
    assert find_unsafe_value(value) is None


def test_the_first_offender_in_document_order_is_reported():
    assert unsafe({"a": 1, "b": {2}, "c": dt.date(2025, 1, 1)}).unsafe.pointer == "/b"
    assert unsafe([0, Decimal(1), b"x"]).unsafe.pointer == "/1"
    # A bad key is met before its own value, and after earlier members.
    assert unsafe({"a": float("nan"), 1: "x"}).unsafe.kind == "nan"
    assert unsafe({1: float("nan")}).unsafe.kind == "key"


def test_nesting_is_limited_without_recursion():
    check_json_safe(nested_lists(MAX_DEPTH))
    error = unsafe(nested_lists(MAX_DEPTH + 1))
    assert error.unsafe.kind == "depth"
    assert error.unsafe.pointer == "/0" * MAX_DEPTH
    assert unsafe(nested_lists(4), max_depth=3).unsafe.pointer == "/0/0/0"
    # Far deeper than Python's recursion limit: still a clean answer.
    assert unsafe(nested_lists(100_000)).unsafe.kind == "depth"


def test_a_cycle_is_caught_by_the_depth_limit():
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    assert unsafe(cyclic).unsafe.pointer == "/1" * MAX_DEPTH


def test_size_is_measured_as_compact_utf8_json_exactly():
    value = {"name": "café", "n": [1, 2.5, None, True], "nested": {"k": ""}}
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    check_json_safe(value, max_bytes=size)
    error = unsafe(value, max_bytes=size - 1)
    assert error.unsafe.kind == "size"
    # Brackets count when their container opens, so the last value crosses the limit.
    assert error.unsafe.pointer == "/nested/k"
    assert unsafe(value, max_bytes=7).unsafe.pointer == "/name"  # `{}` and `"name"`: 8 bytes
    assert unsafe(value, max_bytes=7).detail.startswith(
        "payload is longer than 7 bytes as JSON, passing the limit at payload[\"name\"]")


def test_shared_references_cannot_blow_up_the_walk():
    # 2**60 leaves by reference: the size limit ends the walk after about a megabyte.
    bomb: list[Any] = []
    for _ in range(60):
        bomb = [bomb, bomb]
    assert unsafe(bomb).unsafe.kind == "size"


def test_json_pointer_escapes_per_rfc_6901():
    assert json_pointer([]) == ""
    assert json_pointer(["a/b", "m~n", 0, ""]) == "/a~1b/m~0n/0/"


# -- properties ------------------------------------------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4),
                                                                       children, max_size=4),
    max_leaves=20,
)
bad_values = st.sampled_from([
    (dt.datetime(2025, 1, 1), "datetime"), (dt.date(2025, 1, 1), "datetime"),
    (Decimal("1"), "decimal"), (b"x", "bytes"), (uuid.UUID(int=3), "uuid"),
    (float("nan"), "nan"), (float("inf"), "infinity"), ({1, 2}, "set"), (frozenset(), "set"),
    (Opaque(), "object"), (Booking(1), "dataclass"), (Hotel(name="x"), "model"),
    (MAX_SAFE_INTEGER + 1, "integer"), ({1: "non-string key"}, "key"), ("\ud800", "surrogate"),
    (Colour.RED, "enum"),
])


@given(json_values)
def test_property_json_values_pass_and_their_size_is_exact(value):
    assert find_unsafe_value(value) is None
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    assert find_unsafe_value(value, max_bytes=size) is None
    assert find_unsafe_value(value, max_bytes=size - 1) is not None


@given(json_values, bad_values, st.data())
def test_property_one_bad_value_anywhere_is_reported_at_its_path(value, bad_value, data):
    bad, kind = bad_value
    top: list[Any] = [value]  # a holder, so the root itself can be replaced
    holder: Any = top
    slot: Any = 0
    segments: list[str | int] = []
    # Walk down a random branch; there, replace a value or insert a new member.
    while isinstance(holder[slot], dict | list) and data.draw(st.booleans()):
        container = holder[slot]
        if container and data.draw(st.booleans()):  # go into an existing member
            slot = data.draw(st.sampled_from(range(len(container)) if isinstance(container, list)
                                             else list(container)))
        elif isinstance(container, list):  # insert a new element
            slot = data.draw(st.integers(0, len(container)))
            container.insert(slot, None)
        else:  # add a new member
            slot = data.draw(st.text(max_size=4).filter(lambda k, c=container: k not in c))
            container[slot] = None
        holder = container
        segments.append(slot)
    holder[slot] = bad
    found = find_unsafe_value(top[0])
    assert found is not None
    assert (found.pointer, found.kind) == (json_pointer(segments), kind)


# -- why the check exists: what raw LangGraph does ---------------------------------------------


class State(TypedDict):
    result: str


def graph_interrupting_with(payload: object, *, checked: bool = False) -> Any:
    def node(state: State) -> State:
        if checked:
            check_json_safe(payload)
        return {"result": str(interrupt(payload))}

    builder = StateGraph(State)
    builder.add_node("ask", node)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=InMemorySaver())


CONFIG = {"configurable": {"thread_id": "t1"}}


def test_raw_langgraph_accepts_a_datetime_that_json_cannot_carry():
    # Observed with langgraph 1.2 / InMemorySaver: msgpack stores the datetime, the run pauses
    # normally and the pending interrupt holds a real datetime; only later, when the API,
    # the ledger or an approver's screen turns it into JSON, does it fail.
    graph = graph_interrupting_with({"when": dt.datetime(2025, 1, 2, 3, 4)})
    out = graph.invoke({"result": ""}, CONFIG)
    pending = graph.get_state(CONFIG).interrupts
    assert out["__interrupt__"][0].value == {"when": dt.datetime(2025, 1, 2, 3, 4)}
    assert isinstance(pending[0].value["when"], dt.datetime)
    with pytest.raises(TypeError):
        json.dumps(pending[0].value)
    assert unsafe(pending[0].value).unsafe.pointer == "/when"


def test_raw_langgraph_fails_after_the_interrupt_on_a_custom_object():
    # Observed: invoke() raises "Type is not msgpack serializable: Interrupt" while writing the
    # interrupt, and the thread is left looking paused (next == ("ask",)) with no interrupt
    # and no task error. Worse, a resume still goes through: the node re-runs,
    # interrupt() returns the resume value, and the run ends approved by nobody.
    graph = graph_interrupting_with({"booking": Opaque()})
    with pytest.raises(TypeError, match="not msgpack serializable"):
        graph.invoke({"result": ""}, CONFIG)
    state = graph.get_state(CONFIG)
    assert state.next == ("ask",)
    assert state.interrupts == ()
    assert [task.error for task in state.tasks] == [None]
    assert graph.invoke(Command(resume="approved"), CONFIG) == {"result": "approved"}


def test_checked_payloads_fail_in_the_node_with_the_path():
    # With the check, the node fails before interrupt(): the error names the value, and the
    # thread records a failed task instead of an empty pause.
    graph = graph_interrupting_with({"booking": Opaque()}, checked=True)
    with pytest.raises(UnsafePayload) as caught:
        graph.invoke({"result": ""}, CONFIG)
    assert caught.value.unsafe.pointer == "/booking"
    state = graph.get_state(CONFIG)
    assert state.interrupts == ()
    assert "UnsafePayload" in str(state.tasks[0].error)
