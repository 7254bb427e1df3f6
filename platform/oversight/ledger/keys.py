"""Checkpoint signing keys: generation, loading, and the public keys Oversight publishes.

The server takes its Ed25519 private key from ``OVERSIGHT_SIGNING_KEY`` (PEM) or
``OVERSIGHT_SIGNING_KEY_FILE``. The embedded default generates a development key under
``<home>/keys/`` on first use and says so loudly. Every key that ever signed a checkpoint is
kept in ``ledger_key``, so notes signed before a rotation still verify.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from oversight.config import Settings
from oversight.db import utcnow
from oversight.errors import ConfigurationError
from oversight.ledger.models import LedgerKey
from oversight.logs import get_logger
from oversight_audit import SignerKey, VerifierKey

DEV_KEY_NAME = "ledger-signing.pem"
log = get_logger("ledger.keys")


def _write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` as PKCS#8 PEM readable by its owner only (mode 0600 from the start)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(path, 0o600)


def generate_key_pair(directory: Path, *, name: str, overwrite: bool = False) -> tuple[Path, str]:
    """Write ``<name>.pem`` (mode 0600) and ``<name>.pub`` (a verifier key string)."""
    safe = name.replace("/", "_")
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / f"{safe}.pem", directory / f"{safe}.pub"
    if private_path.exists() and not overwrite:
        raise ConfigurationError(
            f"{private_path} already exists; remove it or pass --overwrite to replace it"
        )
    key = Ed25519PrivateKey.generate()
    _write_private_key(private_path, key)
    verifier = str(SignerKey(name, key).verifier_key())
    public_path.write_text(verifier + "\n")
    return private_path, verifier


def _private_key_from_pem(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"the signing key in {where} is not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"the signing key in {where} is not an Ed25519 key")
    return key


def load_signer(settings: Settings) -> SignerKey:
    """The checkpoint signer configured in ``settings`` (or the development key)."""
    name = settings.ledger_origin
    if settings.signing_key:
        return SignerKey(name, _private_key_from_pem(settings.signing_key.encode(),
                                                     "OVERSIGHT_SIGNING_KEY"))
    if settings.signing_key_file:
        path = settings.signing_key_file
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the signing key file {path}: {exc}") from exc
        return SignerKey(name, _private_key_from_pem(pem, str(path)))
    path = settings.home / "keys" / DEV_KEY_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private_key(path, Ed25519PrivateKey.generate())
        log.warning(
            "ledger.dev_key_generated",
            path=str(path),
            message="generated a DEVELOPMENT checkpoint signing key; configure "
            "OVERSIGHT_SIGNING_KEY_FILE for production",
        )
    return SignerKey(name, _private_key_from_pem(path.read_bytes(), str(path)))


def register_key(session: Session, signer: SignerKey) -> None:
    """Remember the signer's public key (idempotent), so it stays published after rotation."""
    verifier = signer.verifier_key()
    text = str(verifier)
    if session.get(LedgerKey, text) is None:
        session.add(LedgerKey(verifier_key=text, name=verifier.name,
                              key_id=verifier.key_id.hex(), first_used_at=utcnow()))
        session.flush()


def published_keys(session: Session, settings: Settings | None = None) -> list[VerifierKey]:
    """Every public key that has signed checkpoints, plus configured retired keys."""
    texts = list(session.scalars(select(LedgerKey.verifier_key).order_by(LedgerKey.first_used_at)))
    if settings is not None and settings.retired_keys_file:
        for line in settings.retired_keys_file.read_text().splitlines():
            if line.strip() and line.strip() not in texts:
                texts.append(line.strip())
    return [VerifierKey.from_string(text) for text in texts]
