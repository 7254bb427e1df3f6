"""Errors of the gateway::

    OversightError
    └── GatewayError
        ├── GraphNotRegistered   (404)
        ├── RegistrationInvalid  (500) a registration or OVERSIGHT_GRAPHS entry is unusable
        ├── ThreadNotFound       (404)
        ├── ThreadWaiting        (409) input sent to a thread that waits on a decision
        ├── ThreadClosed         (409) the thread ended, failed or was stopped
        ├── InterruptSwallowed   (500) a node caught the interrupt its approval raised
        ├── UnsafePayload        (422) a payload or input is not JSON-safe (payloads.py)
        └── CheckpointerUnsupported (500) the checkpointer's tables cannot be read with SQL
"""

from __future__ import annotations

from oversight.errors import OversightError


class GatewayError(OversightError):
    type = "gateway"
    title = "Gateway error"


class GraphNotRegistered(GatewayError):
    type = "graph-not-registered"
    title = "No such graph"
    status = 404


class RegistrationInvalid(GatewayError):
    type = "registration-invalid"
    title = "Graph registration is invalid"


class ThreadNotFound(GatewayError):
    type = "thread-not-found"
    title = "No such thread"
    status = 404


class ThreadWaiting(GatewayError):
    type = "thread-waiting"
    title = "The thread waits on a decision"
    status = 409


class ThreadClosed(GatewayError):
    type = "thread-closed"
    title = "The thread is closed"
    status = 409


class InterruptSwallowed(GatewayError):
    type = "interrupt-swallowed"
    title = "A node swallowed its approval request"


class CheckpointerUnsupported(GatewayError):
    type = "checkpointer-unsupported"
    title = "Oversight cannot read this checkpointer's tables"
