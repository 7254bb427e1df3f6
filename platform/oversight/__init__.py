"""Oversight: a self-hosted approval and audit gateway for LangGraph agents."""

__version__ = "0.1.0"
