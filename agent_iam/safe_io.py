"""Files under a folder the plan owns (`<out>/.cache/`, the stack files it reads), never through a link.

The output folder is the user's; what is inside it may have been planted (a restored CI cache, a
shared checkout). So below it a link is never followed: a folder that is a link is no folder (a
read finds nothing, a write replaces the link with a real folder), a file is opened with
O_NOFOLLOW, written through a new temporary file renamed over it, and only regular files are read
(a FIFO would block, `/dev/zero` would never end), up to a size the caller names.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


class NotRegularFile(ValueError):
    """A path that is not a regular file of at most the size asked for: the message says what it is."""


def real_folder(root: Path, path: Path, *, create: bool) -> Path | None:
    """`path`, a folder below `root`, when every part of it below `root` is a real folder (no link,
    no file); else None, or with `create` the missing parts made and a link or file in the way
    removed (never followed). `root` itself is the user's choice of output folder and may be a link."""
    base, path = Path(root), Path(path)
    relative = path.relative_to(base)  # ValueError for a path not below root: a caller's bug
    if not relative.parts or any(part in (".", "..") for part in relative.parts):
        raise ValueError(f"{path}: not a folder below {base}")
    if create:
        base.mkdir(parents=True, exist_ok=True)
    current = base
    for part in relative.parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            if not create:
                return None
            current.unlink()  # a link or a file where a folder belongs: removed, not followed
        if not current.exists():
            if not create:
                return None
            current.mkdir()
    return path


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular(path: Path, limit: int | None = None, *, follow_links: bool = False) -> bytes:
    """The bytes of the regular file `path` (at most `limit` bytes). NotRegularFile says what it is
    instead (a link when `follow_links` is false, a FIFO, a device, a folder, a larger file); OSError
    when it cannot be opened. Opened without blocking, so a FIFO never hangs the caller."""
    flags = os.O_RDONLY | os.O_NONBLOCK | _CLOEXEC | (0 if follow_links else _NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_links and os.path.islink(path):
            raise NotRegularFile("a symbolic link") from None
        raise exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(_kind(info.st_mode))
        if limit is not None and info.st_size > limit:
            raise NotRegularFile(f"{info.st_size:,} bytes, over the limit of {limit:,}")
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:  # grew since fstat
                raise NotRegularFile(f"over {limit:,} bytes, the limit")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_or_none(path: Path, limit: int | None = None) -> bytes | None:
    """`read_regular` without following a link, None for anything it refuses or cannot read."""
    try:
        return read_regular(path, limit)
    except (OSError, NotRegularFile):
        return None


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: a new temporary file beside it (whatever was planted at its
    name is removed first, never written through), renamed over `path`, which replaces a link there
    rather than following it. Readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
