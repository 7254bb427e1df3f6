"""Errors of stops::

    OversightError
    └── StopError
        ├── StopNotFound      (404)
        ├── StopInvalid       (422) a scope or target that does not make sense
        └── Stopped           (423) the action is refused while a stop is active
"""

from __future__ import annotations

from oversight.errors import OversightError


class StopError(OversightError):
    type = "stop"
    title = "Stop error"


class StopNotFound(StopError):
    type = "stop-not-found"
    title = "No such stop"
    status = 404


class StopInvalid(StopError):
    type = "stop-invalid"
    title = "The stop is not valid"
    status = 422


class Stopped(StopError):
    type = "stopped"
    title = "Stopped by a human overseer"
    status = 423
