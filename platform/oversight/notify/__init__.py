"""Notifications: who is told that a request waits for them, through which channel.

Policies name channels (``notify: [dba-oncall]``); the operator says what each channel is
(``OVERSIGHT_NOTIFY_CHANNELS``). Services queue notifications in the caller's transaction
(an outbox), so a request and the notice of it commit together; a notifier delivers them
after the commit, retries with backoff, and records every delivery and every give-up in the
ledger.
"""
