# ruff: noqa
"""`# oversight: ignore[CODE]` silences the named codes on its own line only."""

from datetime import datetime

from langgraph.types import interrupt


def node(state):
    try:
        interrupt("deliberate")  # oversight: ignore[OVS001]
        interrupt("other code named")  # oversight: ignore[OVS002]  expect: OVS001@9
        interrupt({"at": datetime.now()})  # oversight: ignore[OVS001, OVS002]
        interrupt({"at": datetime.now()})  # oversight: ignore[ovs002]  expect: OVS001@9
        text = "# oversight: ignore[OVS001]"; interrupt(text)  # expect: OVS001@47
        interrupt(  # expect: OVS001@9
            "a finding is reported on the line where its call starts"
        )  # oversight: ignore[OVS001]
    except Exception:
        pass
