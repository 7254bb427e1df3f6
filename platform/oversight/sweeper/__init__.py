"""The sweeper: deadlines made real (reject, expire, escalate) and drift with the checkpointer
repaired. ``Sweeper(gateway).run_pass()`` is one pass; ``loop`` runs passes in the background."""

from oversight.sweeper.service import PassSummary, Sweeper

__all__ = ["PassSummary", "Sweeper"]
