"""Generated keys: read from the environment, else from a file under var/.

The files are created only by the explicit init step (`manage.py init_keys`), with exclusive
creation, so two processes starting at once can never end up with different keys.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

# setting name -> (file name, generator)
GENERATED_KEYS = {
    "SECRET_KEY": ("secret_key", lambda: secrets.token_urlsafe(50)),
    # Fernet key: urlsafe base64 of 32 random bytes.
    "WEB3_SECRETS_KEY": ("secrets_key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()),
    # secp256k1 private key (hex); any 32 random bytes below the curve order are valid.
    "WEB3_CHECKPOINT_KEY": ("checkpoint_key", lambda: "0x" + secrets.token_hex(32)),
}


def read_key(name: str, var_dir: Path) -> str:
    """The key from the environment, else from var/, else '' (init_keys has not run)."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    path = var_dir / "keys" / GENERATED_KEYS[name][0]
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def init_keys(var_dir: Path) -> list[str]:
    """Create the missing key files; never overwrite one. Returns the names created."""
    keys_dir = var_dir / "keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    created = []
    for name, (filename, generate) in GENERATED_KEYS.items():
        if os.environ.get(name, "").strip():
            continue
        path = keys_dir / filename
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(generate() + "\n")
        created.append(name)
    return created


def read_key_file(var_dir: Path, filename: str) -> str:
    """A key kept in var/keys/<filename> (the chain keys: anchor_key, operator_key), else ''."""
    path = var_dir / "keys" / filename
    return path.read_text().strip() if path.is_file() else ""
