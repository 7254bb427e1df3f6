"""Graphs registered by name, compiled with the gateway's checkpointer.

A registration names a ``StateGraph`` builder or a compiled graph (an object, or a
``module:attribute`` string as ``OVERSIGHT_GRAPHS`` gives it), the static breakpoints to
compile in, and for raw ``interrupt()`` calls the resume value each decision sends to each
node (so existing graphs that expect ``"approved"`` or ``{"action": "edit", ...}`` run
unchanged), and the action name policies match for such a node (default: the node's name).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel

from oversight.gateway.exceptions import GraphNotRegistered, RegistrationInvalid

CompiledGraph = Pregel[Any, Any, Any, Any]

#: Keys of a resume template: one per decision an approver can take.
DECISIONS = ("approve", "reject", "edit", "respond")


@dataclass(frozen=True)
class GraphRegistration:
    """How the gateway runs one graph."""

    name: str
    target: Any
    resume_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    actions: Mapping[str, str] = field(default_factory=dict)
    interrupt_before: Sequence[str] = ()
    interrupt_after: Sequence[str] = ()

    def action_for(self, node: str) -> str:
        """The action name a raw ``interrupt()`` or breakpoint in ``node`` is known by."""
        return self.actions.get(node, node)

    def template_for(self, node: str) -> Mapping[str, Any] | None:
        """The resume template of ``node`` (or of ``"*"``), if declared."""
        return self.resume_values.get(node) or self.resume_values.get("*")


def load_target(spec: str) -> Any:
    """Import ``module:attribute`` (the attribute may be dotted)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise RegistrationInvalid(f"graph target {spec!r} is not of the form module:attribute")
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise RegistrationInvalid(f"cannot import {module_name!r} for graph {spec!r}: {exc}") from exc
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError as exc:
            raise RegistrationInvalid(f"{module_name!r} has no attribute {attribute!r}") from exc
    return value


def compile_with(registration: GraphRegistration, checkpointer: BaseCheckpointSaver[str]) -> CompiledGraph:
    """Compile (or re-bind) the registered graph with ``checkpointer``."""
    target = registration.target
    if isinstance(target, str):
        target = load_target(target)
    if callable(target) and not isinstance(target, StateGraph | Pregel):
        target = target()
    if isinstance(target, StateGraph):
        return target.compile(
            checkpointer=checkpointer,
            interrupt_before=list(registration.interrupt_before) or None,
            interrupt_after=list(registration.interrupt_after) or None,
            name=registration.name,
        )
    if isinstance(target, Pregel):
        update: dict[str, Any] = {"checkpointer": checkpointer}
        if registration.interrupt_before:
            update["interrupt_before_nodes"] = list(registration.interrupt_before)
        if registration.interrupt_after:
            update["interrupt_after_nodes"] = list(registration.interrupt_after)
        return target.copy(update=update)
    raise RegistrationInvalid(
        f"graph {registration.name!r} is a {type(target).__name__}, not a StateGraph builder "
        "or a compiled graph"
    )


def validate_templates(registration: GraphRegistration) -> None:
    """Refuse a resume template keyed by something that is not a decision."""
    for node, template in registration.resume_values.items():
        unknown = set(template) - set(DECISIONS)
        if unknown:
            raise RegistrationInvalid(
                f"graph {registration.name!r}, node {node!r}: resume_values has "
                f"{sorted(unknown)}; expected some of {list(DECISIONS)}"
            )


class GraphRegistry:
    """Registered graphs by name, compiled lazily with one checkpointer."""

    def __init__(self) -> None:
        self._registrations: dict[str, GraphRegistration] = {}
        self._compiled: dict[str, CompiledGraph] = {}

    def register(self, registration: GraphRegistration) -> None:
        """Add or replace a graph."""
        validate_templates(registration)
        self._registrations[registration.name] = registration
        self._compiled.pop(registration.name, None)

    def names(self) -> list[str]:
        """Registered graph names."""
        return sorted(self._registrations)

    def get(self, name: str) -> GraphRegistration:
        """The registration of ``name`` or ``GraphNotRegistered``."""
        try:
            return self._registrations[name]
        except KeyError:
            raise GraphNotRegistered(
                f"no graph named {name!r} is registered; known: {', '.join(self.names()) or 'none'}",
                graph=name,
            ) from None

    def compiled(self, name: str, checkpointer: BaseCheckpointSaver[str]) -> CompiledGraph:
        """The compiled graph of ``name`` bound to ``checkpointer``."""
        if name not in self._compiled:
            self._compiled[name] = compile_with(self.get(name), checkpointer)
        return self._compiled[name]
