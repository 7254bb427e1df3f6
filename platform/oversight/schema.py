"""Every domain's tables, imported so that ``Base.metadata`` is whole (Alembic, tests)."""

from __future__ import annotations

from oversight.approvals import models as approval_models
from oversight.auth import dbsessions as session_models
from oversight.db import Base
from oversight.gateway import models as gateway_models
from oversight.ledger import models as ledger_models
from oversight.notify import models as notify_models
from oversight.stops import models as stop_models

metadata = Base.metadata

__all__ = ["approval_models", "gateway_models", "ledger_models", "metadata", "notify_models",
           "session_models", "stop_models"]
