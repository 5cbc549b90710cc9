"""Typed readers for settings that come from the environment, with errors that name the key."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(key: str, default: str = "") -> str:
    """A string setting; `KEY_FILE` (a path) wins over `KEY`, so secrets can live in mounted files."""
    path = os.environ.get(f"{key}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{key}_FILE={path!r} cannot be read: {exc}") from exc
    return os.environ.get(key, default)


def env_int(key: str, default: int) -> int:
    raw = os.environ.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{key} must be an integer, got {raw!r}") from exc


def env_float(key: str, default: float) -> float:
    raw = os.environ.get(key)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{key} must be a number, got {raw!r}") from exc


def env_bool(key: str, default: bool) -> bool:
    raw = os.environ.get(key)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{key} must be a boolean (1/0, true/false), got {raw!r}")


def local_secret(var_dir: Path, name: str, nbytes: int = 32) -> str:
    """A random secret generated once and kept in `var_dir/name`.

    Used when no vendor account is configured: the app and the local carrier simulator then share a generated
    token, so signature checks stay on without anyone having to invent a password.
    """
    path = var_dir / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    # O_EXCL: two processes starting at once must end up with the same secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def local_ed25519_keypair(var_dir: Path) -> tuple[str, str]:
    """(private seed, public key), both base64: a generated Ed25519 pair that stands in for Telnyx's.

    Telnyx signs webhooks with its private key and publishes the public one; without a portal key configured the
    app checks against this pair's public key and the local simulator signs with its private seed, so signature
    checks stay on. The seed derives from a `local_secret`, which already makes concurrent first starts agree.
    """
    from nacl.signing import SigningKey

    seed = hashlib.sha256(local_secret(var_dir, "local_telnyx_ed25519_seed").encode()).digest()
    public = bytes(SigningKey(seed).verify_key)
    return base64.b64encode(seed).decode(), base64.b64encode(public).decode()
