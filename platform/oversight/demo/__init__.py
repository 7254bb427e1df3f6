"""The demo: two reference agents with deterministic stand-ins for the LLM, and demo users."""
