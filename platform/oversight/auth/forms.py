"""Reading ``application/x-www-form-urlencoded`` bodies without python-multipart.

Starlette's ``request.form()`` needs the python-multipart package even for URL-encoded forms;
the sign-in forms and CSRF checks only ever need URL-encoded ones.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

URLENCODED = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024


def is_urlencoded(request: Request) -> bool:
    return request.headers.get("Content-Type", "").split(";")[0].strip().lower() == URLENCODED


async def urlencoded_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded body (first value of each); empty for other bodies."""
    if not is_urlencoded(request):
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields
