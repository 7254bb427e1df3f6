"""Errors of the sweeper::

    OversightError
    └── SweeperError
        └── CheckpointerUnsupported  (500) the checkpointer's tables cannot be read with SQL

Problems with one request or one thread (its thread was deleted, its graph is no longer
registered) are not errors: the sweeper records them and closes what cannot go on.
"""

from __future__ import annotations

from oversight.errors import OversightError


class SweeperError(OversightError):
    type = "sweeper"
    title = "Sweeper error"


class CheckpointerUnsupported(SweeperError):
    type = "checkpointer-unsupported"
    title = "The sweeper cannot read this checkpointer's tables"
