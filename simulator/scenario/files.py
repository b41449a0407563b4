"""Reading an input file safely: a regular text file of bounded size, optionally inside a folder.

Every file sdsim reads on a user's behalf (a scenario, the base it ``extends``, a lab
submission's answers) goes through :func:`read_text`. It refuses, with a message rather
than a traceback, a hang or a memory blow-up:

* anything that is not a regular file (``/dev/zero``, a FIFO, a folder), checked before
  a byte is read;
* a file larger than ``max_bytes`` (default :data:`MAX_INPUT_BYTES`), checked on its
  size and again while reading, so a file that grows meanwhile is still bounded;
* bytes that are not UTF-8 text, or a NUL in the name;
* with ``root`` given, a path that leaves ``root`` once symlinks are resolved (a
  submission may not read the reference solution or ``/etc/passwd`` through ``extends:``
  or a symlink).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_INPUT_BYTES = 1 << 20  # 1 MiB: a scenario is a few KiB; this bounds what a mistake can cost


class UnreadableFile(Exception):
    """The file cannot be used; the message says why in the user's terms."""


def inside(path: Path, root: Path) -> bool:
    """Whether *path*, symlinks resolved, lies inside *root* (symlinks resolved too)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL
        return False


def read_text(path: Path | str, *, root: Path | None = None, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of *path*, or :class:`UnreadableFile` saying why it cannot be read."""
    path = Path(path)
    if "\0" in str(path):
        raise UnreadableFile("the file name contains a NUL character")
    if root is not None and not inside(path, root):
        raise UnreadableFile(f"the file is outside {root} (only files in that folder may be used here; "
                             "a symlink out of it is refused too)")
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise UnreadableFile(f"cannot read the file: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UnreadableFile("it is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile("it is not a regular file (a device, a pipe or a socket): refused before reading")
    if info.st_size > max_bytes:
        raise UnreadableFile(f"the file is {info.st_size:,} bytes, more than the {max_bytes:,} allowed for an input file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableFile(f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise UnreadableFile(f"the file is more than the {max_bytes:,} bytes allowed for an input file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"the file is not UTF-8 text (byte {exc.start} cannot be decoded)") from None
