# ruff: noqa
"""OVS001 samples: interrupting calls whose handler swallows GraphInterrupt.

Each expected finding is marked on its line as `expect: CODE@column` (1-based column).
"""

import contextlib
from contextlib import suppress

import langgraph.types
import langgraph.types as lt
from langgraph import types
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.types import interrupt
from langgraph.types import interrupt as ask

import oversight
from oversight import request_approval

approve = interrupt  # a module-level alias is followed too


def bare_except(state):
    try:
        interrupt("bare except")  # expect: OVS001@9
    except:
        pass


def except_exception(state):
    try:
        answer = ask("aliased import")  # expect: OVS001@18
    except Exception as exc:
        answer = str(exc)
    return answer


def except_base_exception(state):
    try:
        lt.interrupt("module alias")  # expect: OVS001@9
    except BaseException:
        return {}


def tuple_handler(state):
    try:
        types.interrupt("from langgraph import types")  # expect: OVS001@9
    except (ValueError, Exception):
        return {}


def fully_qualified(state):
    try:
        langgraph.types.interrupt("dotted")  # expect: OVS001@9
    except Exception:
        return {}


def request_approvals(state):
    try:
        request_approval(action="refund", payload={"amount": 10})  # expect: OVS001@9
        oversight.request_approval(action="refund", payload={})  # expect: OVS001@9
        approve("module-level alias")  # expect: OVS001@9
    except Exception:
        return {}


def inside_blocks(state, items):
    try:
        for item in items:
            if item:
                with open(item) as handle:
                    interrupt(handle.name)  # expect: OVS001@21
        result = [interrupt(i) for i in items]  # expect: OVS001@19
    except Exception:
        result = []
    return result


def nested_try(state):
    try:
        try:
            interrupt("the inner handler does not catch it")  # expect: OVS001@13
        except ValueError:
            pass
    except Exception:
        pass


def reraised_then_swallowed(state):
    # The inner handler re-raises, and the outer `except Exception` catches it again.
    try:
        try:
            interrupt("re-raised, then caught")  # expect: OVS001@13
        except GraphInterrupt:
            raise
    except Exception:
        pass


def first_matching_handler_wins(state):
    try:
        interrupt("caught by Exception before GraphInterrupt")  # expect: OVS001@9
    except Exception:
        pass
    except GraphInterrupt:  # unreachable for interrupts, still reported  # expect: OVS001@5
        pass


def catches_graph_interrupt(state):
    try:
        interrupt("named explicitly")
    except GraphInterrupt:  # expect: OVS001@5
        return {"status": "nobody approved"}


def catches_bubble_up(state):
    try:
        interrupt("named explicitly")
    except GraphBubbleUp:  # expect: OVS001@5
        pass


def suppressed(state):
    with contextlib.suppress(Exception):
        interrupt("suppressed")  # expect: OVS001@9
    with suppress(KeyError, BaseException):
        interrupt("suppressed too")  # expect: OVS001@9


def exception_group(state):
    try:
        interrupt("except*")  # expect: OVS001@9
    except* Exception:
        pass


def ask_manager(value):
    return interrupt(value)


def ask_twice(value):
    return ask_manager(value)


def through_local_helpers(state):
    try:
        ask_twice("a helper in this file makes the call")  # expect: OVS001@9
    except Exception:
        return {}


async def async_node(state):
    try:
        interrupt("async")  # expect: OVS001@9
    except Exception:
        return {}
