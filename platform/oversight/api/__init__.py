"""The HTTP API (FastAPI): JSON under ``/v1``, RFC 9457 problems, health and metrics."""
