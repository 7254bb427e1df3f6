"""Every domain's tables, imported so that ``Base.metadata`` is whole (Alembic, tests)."""

from __future__ import annotations

from oversight.db import Base
from oversight.ledger import models as ledger_models

metadata = Base.metadata

__all__ = ["ledger_models", "metadata"]
