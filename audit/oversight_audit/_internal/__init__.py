"""Private helpers of ``oversight_audit``; nothing here is a stable interface."""
