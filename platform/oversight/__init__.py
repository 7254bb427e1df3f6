"""Oversight: a self-hosted approval and audit gateway for LangGraph agents.

Graph authors need one import::

    from oversight import request_approval

    decision = request_approval(action="sql.execute", payload={"query": q})
    if decision.approved:
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Decision", "request_approval"]

if TYPE_CHECKING:
    from oversight.gateway.request import Decision, request_approval


def __getattr__(name: str) -> Any:
    # Imported lazily: the CLI and the verifier paths should not pay for LangGraph.
    if name in __all__:
        from oversight.gateway import request

        return getattr(request, name)
    raise AttributeError(f"module 'oversight' has no attribute {name!r}")
