"""The server's Ed25519 key that signs recording manifests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from .files import write_private


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    write_private(path, pem, exclusive=True)
    # The public half beside it, for courts that verify recordings on another machine.
    path.with_suffix(".pub").write_bytes(public_pem(key))
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    """SHA-256 of the raw public key, in groups of four hex digits: what a court publishes and a recipient
    compares by eye. Its first 16 digits are the manifest's key_id."""
    digest = hashlib.sha256(public).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))
