"""Output folders that appear whole: checked before the work, built aside, moved into place at the end.

:func:`check_output` says whether a path can be written at all, before anything runs: a
file where a folder is wanted (or the reverse), a parent that is a file, a place where no
file can be created (no permission, a read-only file system, ``/proc``), a name longer
than the file system takes. It creates nothing (it probes with an empty folder it
removes at once) and raises :class:`~simulator.errors.OutputPathError`.

:func:`staged` builds a folder's content in a staging folder and moves it into place
only when the whole content is written:

* **a new folder** is staged as a hidden sibling (same parent, so the same file system)
  and renamed to its name: it appears at once, whole. Missing parent folders are created
  first and removed again if the build fails.
* **an existing folder** is never removed: the content is staged in a hidden folder inside
  it and each entry is then renamed over its namesake (files the build does not write are
  kept, as an ``--out`` folder always kept them). Until that commit nothing in the folder
  changes; the commit is a handful of renames during which Ctrl-C is held back, so it is
  never cut in half.

On any failure or Ctrl-C during the build the staging folder is removed and nothing
half-written remains. A process killed outright (``SIGKILL``, power loss) may leave a
hidden ``.sdsim-…`` folder behind; it never leaves a half-written output folder.

Sweeps are different on purpose: their ``runs.jsonl`` is a log that must survive Ctrl-C
(``--resume`` continues from it), so a sweep folder is written in place, each final file
atomically (:mod:`.files`).
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputPathError

__all__ = ["FolderNotEmpty", "check_output", "staged"]

_STAGE_IDS = itertools.count()
_PLACE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC),
                 errno.EFBIG, errno.ENAMETOOLONG, errno.ENOTDIR}
"""Errors that say the place cannot hold the output (not that sdsim has a bug)."""


class FolderNotEmpty(OutputPathError):
    """A folder that must be new or empty (``sdsim labs start``) holds something already."""

    def __init__(self, path: object, reason: str = "it is not an empty folder"):
        super().__init__(path, reason)


def _existing_ancestor(path: Path) -> tuple[Path, list[str]]:
    """The nearest ancestor of *path* that exists (a dangling link counts) and the names below
    it that do not exist yet, outermost first."""
    missing: list[str] = []
    here = path
    while not os.path.lexists(here):
        if here.parent == here:
            break
        missing.insert(0, here.name)
        here = here.parent
    return here, missing


def _probe(folder: Path, target: Path) -> None:
    """Create and remove an empty folder in *folder*: the one honest test that files can go there."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".sdsim-probe-", dir=folder))
    except OSError as exc:
        raise OutputPathError(target, f"creating a file in {folder} fails ({exc.strerror or exc})") from None


def check_output(path: str | os.PathLike[str], *, folder: bool = True, empty: bool = False) -> Path:
    """Check that *path* can be written as a folder (or, with ``folder=False``, as a file),
    before any work; return it as a :class:`~pathlib.Path`.

    Missing parents are fine (writing creates them) when the nearest existing ancestor is a
    folder files can be created in. With ``empty=True`` an existing folder must be empty
    (:class:`FolderNotEmpty`). Raises :class:`~simulator.errors.OutputPathError` naming the
    path and what is wrong; creates nothing.
    """
    target = Path(path)
    if str(target) == "" or "\0" in str(target):
        raise OutputPathError(target, "not a usable path")
    if os.path.lexists(target):
        if target.is_symlink() and not target.exists():
            raise OutputPathError(target, "it is a symbolic link to nothing")
        if folder and not target.is_dir():
            raise OutputPathError(target, "it is a file, not a folder")
        if not folder and target.is_dir():
            raise OutputPathError(target, "it is a folder, not a file")
        if folder:
            if empty and any(target.iterdir()):
                raise FolderNotEmpty(target)
            _probe(target, target)  # the build is staged inside an existing folder
            return target
        _probe(target.parent, target)  # a file is replaced through a temporary sibling
        return target
    ancestor, missing = _existing_ancestor(target)
    if not ancestor.is_dir():
        raise OutputPathError(target, f"{ancestor} is a file, not a folder")
    try:
        longest = os.pathconf(ancestor, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # not every system can say
        longest = 255
    for name in missing:
        if len(os.fsencode(name)) > longest:
            raise OutputPathError(target, f"the name {name[:40]!r}… is longer than the {longest} bytes a name may "
                                          "have here")
    _probe(ancestor, target)
    return target


def _stage_name(name: str) -> str:
    return f".sdsim-{name[:100]}.{os.getpid()}.{next(_STAGE_IDS)}.tmp"


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends; deliver it then. Only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda number, frame: held.append(number))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)  # None: not set from Python
        if held:
            signal.raise_signal(signal.SIGINT)  # to whatever handled it before: KeyboardInterrupt, usually


def _merge(source: Path, target: Path) -> None:
    """Move every entry of *source* into *target*, replacing namesakes (folders are merged)."""
    for entry in sorted(source.iterdir()):
        into = target / entry.name
        if entry.is_dir() and not entry.is_symlink() and into.is_dir() and not into.is_symlink():
            _merge(entry, into)
            entry.rmdir()
        else:
            os.replace(entry, into)


def _create_parents(folder: Path) -> list[Path]:
    """Create the missing ancestors of *folder*; return the ones created, innermost first."""
    _, missing = _existing_ancestor(folder.parent)
    folder.parent.mkdir(parents=True, exist_ok=True)
    created, here = [], folder.parent
    for _ in missing:
        created.append(here)
        here = here.parent
    return created


@contextmanager
def staged(path: str | os.PathLike[str], *, empty: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder; when the block ends without an exception, its content
    becomes the folder *path* (see the module's description); otherwise it is removed.

    *path* is checked first (:func:`check_output`, with *empty*). An ``OSError`` of the
    place while writing into the staging folder (a full disk, a permission taken away) is
    raised as :class:`~simulator.errors.OutputPathError`.
    """
    target = check_output(path, empty=empty)
    existing = target.is_dir()
    stage = (target if existing else target.parent) / _stage_name(target.name)
    created: list[Path] = []
    try:
        if not existing:
            created = _create_parents(target)
        stage.mkdir()
        try:
            yield stage
        except OSError as exc:
            if exc.errno in _PLACE_ERRNOS and str(exc.filename or "").startswith(str(stage)):
                raise OutputPathError(target, f"writing failed ({exc.strerror or exc})") from exc
            raise
        with _signals_held():
            if not existing:
                try:
                    os.rename(stage, target)
                    return
                except OSError as exc:  # the folder appeared meanwhile: merge into it
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not target.is_dir():
                        raise
            _merge(stage, target)
            stage.rmdir()
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in created:  # innermost first; a parent someone else filled meanwhile stays
            try:
                folder.rmdir()
            except OSError:
                break
        raise
