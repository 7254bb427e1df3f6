"""Approval requests, decisions and quorum: the state machine a decision goes through."""
