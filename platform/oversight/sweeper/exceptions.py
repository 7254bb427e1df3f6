"""Errors of the sweeper::

    OversightError
    └── SweeperError

(``CheckpointerUnsupported``, raised when a checkpointer's tables cannot be read with SQL,
is the gateway's: ``oversight.gateway.exceptions``.)

Problems with one request or one thread (its thread was deleted, its graph is no longer
registered) are not errors: the sweeper records them and closes what cannot go on.
"""

from __future__ import annotations

from oversight.errors import OversightError


class SweeperError(OversightError):
    type = "sweeper"
    title = "Sweeper error"

