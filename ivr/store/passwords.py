"""Secrets we must check but never keep: wallboard passwords and agents' PINs, stored only as
salted scrypt hashes (hashlib, no extra dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# OWASP's scrypt minimum (N=2^17, r=8, p=1) costs 128 MiB per check; 2^14 keeps a check at
# 16 MiB and ~40 ms, still far beyond online guessing, which lockouts stop anyway.
COST = 2**14
BLOCK_SIZE = 8
PARALLELISM = 1
SCHEME = "scrypt"


def hash_secret(secret: str, *, cost: int = COST) -> str:
    """`scrypt$N$r$p$salt$hash`, the salt and hash in unpadded base64."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, cost, BLOCK_SIZE, PARALLELISM)
    return "$".join(
        (SCHEME, str(cost), str(BLOCK_SIZE), str(PARALLELISM), _b64(salt), _b64(digest))
    )


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` matches; False for a wrong secret or a hash we cannot read."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME or not all(p.isdigit() for p in parts[1:4]):
        return False
    cost, block_size, parallelism = (int(p) for p in parts[1:4])
    if cost < 2 or cost & (cost - 1) or cost > 2**20:
        return False
    if not 1 <= block_size <= 32 or not 1 <= parallelism <= 16:
        return False
    try:
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    if not 16 <= len(expected) <= 64:
        return False
    try:
        digest = _scrypt(secret, salt, cost, block_size, parallelism, len(expected))
    except (ValueError, MemoryError):  # parameters this machine's OpenSSL refuses
        return False
    return hmac.compare_digest(digest, expected)


def _scrypt(
    secret: str, salt: bytes, cost: int, block_size: int, parallelism: int, length: int = 32
) -> bytes:
    return hashlib.scrypt(
        secret.encode(),
        salt=salt,
        n=cost,
        r=block_size,
        p=parallelism,
        maxmem=256 * cost * block_size + 2**20,
        dklen=length,
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
