"""The per-install secret that signs session cookies and CSRF tokens: made once, kept outside git."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_BYTES = 32


def load_or_create(path: Path) -> str:
    """The key stored at `path`, created readable by this user only when missing.

    Several server processes may start at once: each writes a private temporary
    file and links it into place, so exactly one key wins and nobody reads half a file.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(KEY_BYTES))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first; use theirs
        finally:
            temporary.unlink(missing_ok=True)
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by other users; run `chmod 600 {path}`")
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 2 * KEY_BYTES:
        raise ValueError(f"{path} holds no usable key ({len(key)} characters); delete it to make a new one")
    return key
