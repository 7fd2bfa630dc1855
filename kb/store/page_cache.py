"""Rendered page images kept on disk, bounded in size, never served broken.

Rendering a page from its PDF (and finding the cited passage's outline on it)
takes hundreds of milliseconds: the slowest requests in the load test. The PNG
is kept under `cache/pages/` in the store home, named by a hash of what it shows
(the document's SHA-256, the page, the outlined passage and its text, the
scale), so a re-ingested file or a re-chunked passage simply gets new names. Every
file is checked (PNG signature, each chunk's CRC, the end chunk) before it is
served; a file that fails is deleted and rendered again. Files are written to a
temporary name and renamed, so a reader in another worker never sees half of
one. When the folder passes its size limit, the least recently used files go.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Evict down to this share of the limit, so that a full cache is not scanned on every write.
EVICT_TO = 0.8


def page_key(*parts: object) -> str:
    """A file name for what an image shows."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def is_valid_png(data: bytes) -> bool:
    """Whether `data` is a whole PNG: the signature, chunks whose CRCs match, and IEND last."""
    if not data.startswith(PNG_SIGNATURE):
        return False
    at = len(PNG_SIGNATURE)
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        end = at + 12 + length
        if end > len(data):
            return False
        kind = data[at + 4 : at + 8]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[at + 4 : end - 4]) != crc:
            return False
        if kind == b"IEND":
            return end == len(data)
        at = end
    return False


class PageImageCache:
    def __init__(self, folder: Path, max_bytes: int):
        self.folder = Path(folder)
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.png"

    def get(self, key: str) -> bytes | None:
        """The cached image, or None when it is missing or broken (a broken one is removed)."""
        if self.max_bytes <= 0:
            return None
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if not is_valid_png(data):
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass
        return data

    def put(self, key: str, png: bytes) -> None:
        """Keep an image; a cache that cannot be written (a full disk) is skipped, never an error for the page."""
        if self.max_bytes <= 0 or len(png) > self.max_bytes:
            return
        path = self._path(key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(png)
            os.replace(temporary, path)
        except OSError:
            temporary.unlink(missing_ok=True)
            return
        self._evict()

    def _evict(self) -> None:
        files = []
        total = 0
        for sub in self.folder.iterdir() if self.folder.is_dir() else ():
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                try:
                    stat = entry.stat()
                except OSError:  # evicted by another worker meanwhile
                    continue
                files.append((stat.st_mtime, stat.st_size, entry.path))
                total += stat.st_size
        if total <= self.max_bytes:
            return
        for _, size, path in sorted(files):
            if total <= self.max_bytes * EVICT_TO:
                break
            try:
                os.unlink(path)
            except OSError:
                continue
            total -= size
