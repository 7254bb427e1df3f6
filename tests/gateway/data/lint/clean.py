# ruff: noqa
"""Samples `oversight lint` must accept: every handler here lets GraphInterrupt through."""

import contextlib
import logging

from langgraph.errors import GraphInterrupt, NodeInterrupt
from langgraph.types import interrupt


def reraise_graph_interrupt_first(state):
    try:
        interrupt("the recommended pattern")
    except GraphInterrupt:
        raise
    except Exception:
        logging.exception("tool failed")


def reraise_everything(state):
    try:
        interrupt("logged and re-raised")
    except Exception:
        logging.exception("failed")
        raise


def raise_from(state):
    try:
        interrupt("wrapped")
    except Exception as exc:
        raise RuntimeError("wrapped") from exc


def conditional_reraise(state):
    try:
        interrupt("checked")
    except Exception as exc:
        if isinstance(exc, GraphInterrupt):
            raise
        return {}


def narrow_handlers(state):
    try:
        interrupt("narrow")
    except (ValueError, KeyError):
        return {}
    except NodeInterrupt:  # a subclass: does not catch what interrupt() raises
        return {}


def nested_function_is_not_called_here(state):
    try:
        def later():
            return interrupt("runs later, outside this try")

        callback = lambda: interrupt("also later")
    except Exception:
        return {}
    return later, callback


def outside_the_protected_body(state):
    try:
        value = 1
    except Exception:
        interrupt("in the handler: only an outer try could catch it")
    else:
        interrupt("in else: not protected by this try's handlers")
    finally:
        interrupt("in finally")
    return value


def not_interrupts(state, obj):
    try:
        obj.interrupt()  # some other object's method
        state.interrupt("no")
    except Exception:
        return {}


def suppress_narrow(state):
    with contextlib.suppress(KeyError):
        interrupt("KeyError only")
