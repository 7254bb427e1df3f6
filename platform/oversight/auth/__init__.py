"""Who is acting: identities from OpenID Connect, roles, and how they signed in.

``identity`` (the ``Principal``), ``settings`` (``AuthSettings``), ``tokens`` (bearer tokens),
``oidc`` + ``router`` (browser sign-in), ``sessions`` and ``csrf``, ``dependencies`` (FastAPI),
``wiring`` (``install_auth``), ``devprovider`` (DEVELOPMENT ONLY identity provider).
Kept import-light: domain services import ``oversight.auth.identity`` without FastAPI.
"""
