"""The quarantine store: original messages, content-addressed by SHA-256 (``ab/abcdef….eml``).

Writes are atomic (temporary file, fsync, rename, fsync of the fan-out directory) and idempotent: putting the same
bytes twice keeps one file and refreshes its modification time, which is what retention counts from.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from datetime import datetime
from pathlib import Path

from mamoru.relay.spool import fsync_dir, unique_suffix, write_file

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class QuarantineStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.eml"

    def put(self, raw: bytes) -> str:
        digest = hashlib.sha256(raw).hexdigest()
        target = self.path(digest)
        try:
            os.utime(target)  # already stored: it only restarts its retention clock
            return digest
        except FileNotFoundError:
            pass
        folder = target.parent
        tmp = folder / f".{digest}.{unique_suffix()}.tmp"
        try:
            try:
                write_file(tmp, raw)
            except FileNotFoundError:  # the first original under this prefix
                folder.mkdir(parents=True, exist_ok=True)
                fsync_dir(folder.parent)
                write_file(tmp, raw)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        fsync_dir(folder)
        return digest

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise KeyError(sha256) from None

    def __contains__(self, sha256: object) -> bool:
        return isinstance(sha256, str) and SHA256.match(sha256) is not None and self.path(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        """Remove one original; False when it was not there."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def expire(self, older_than: datetime) -> list[str]:
        """Delete the originals last stored before ``older_than``; returns their digests."""
        limit = older_than.timestamp()
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        for folder in sorted(self.root.iterdir()):
            if not (folder.is_dir() and len(folder.name) == 2):
                continue
            for item in sorted(folder.iterdir()):
                digest = item.name.removesuffix(".eml")
                if not SHA256.match(digest) or item.suffix != ".eml":
                    continue
                try:
                    if item.stat().st_mtime < limit:
                        item.unlink()
                        removed.append(digest)
                except FileNotFoundError:
                    continue
        return removed

    def __len__(self) -> int:
        if not self.root.is_dir():
            return 0
        return sum(1 for folder in self.root.iterdir() if folder.is_dir() for n in os.listdir(folder)
                   if n.endswith(".eml") and not n.startswith("."))
