# ruff: noqa
"""OVS002 samples: payloads visibly not JSON-safe, written in the call.

Each expected finding is marked on its line as `expect: CODE@column` (1-based column).
"""

import datetime as dt
import math
import uuid
from datetime import date, datetime
from decimal import Decimal
from uuid import uuid4

import numpy as np
from langgraph.types import interrupt
from oversight import request_approval


def node(state):
    interrupt({"at": datetime.now()})  # expect: OVS002@22
    interrupt({"at": dt.datetime.utcnow(), "on": date.today()})  # expect: OVS002@22 OVS002@50
    interrupt([dt.date(2025, 1, 1), datetime(2025, 1, 1)])  # expect: OVS002@16 OVS002@37
    interrupt({"id": uuid4(), "other": uuid.uuid4()})  # expect: OVS002@22 OVS002@40
    interrupt({"amount": Decimal("9.99")})  # expect: OVS002@26
    interrupt({"tags": {"a", "b"}})  # expect: OVS002@24
    interrupt({"tags": {t for t in state}})  # expect: OVS002@24
    interrupt({"tags": set(state), "frozen": frozenset()})  # expect: OVS002@24 OVS002@46
    interrupt({"blob": b"raw"})  # expect: OVS002@24
    interrupt({"marker": object()})  # expect: OVS002@26
    interrupt({"x": float("nan"), "y": float("-inf")})  # expect: OVS002@21 OVS002@40
    interrupt({"x": math.nan, "y": -math.inf, "z": np.inf})  # expect: OVS002@21 OVS002@37 OVS002@52
    interrupt({"huge": 1e999})  # expect: OVS002@24
    interrupt({1: "a", None: "b", "ok": "c"})  # expect: OVS002@16 OVS002@24
    interrupt(value={"deep": [{"deeper": (datetime.now(),)}]})  # expect: OVS002@43
    interrupt({"café": "crème", "à": datetime.now()})  # expect: OVS002@38
    request_approval(action="book", payload={"check_in": date.today()})  # expect: OVS002@58


def fine(state):
    # Converted values, values the call does not show, and arguments that are not payloads.
    interrupt({"at": datetime.now().isoformat(), "id": str(uuid4())})
    interrupt({"tags": sorted({"a", "b"}), "amount": str(Decimal("9.99"))})
    interrupt(state["payload"])
    request_approval(action="book", payload={"check_in": "2025-01-01"},
                     deadline=datetime.now())
