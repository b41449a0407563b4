"""Atomic writes: text, JSON, tables and charts, each to a temporary name renamed into place.

A failure mid-write never leaves a half-written file behind: the previous file (if any)
stays whole and the temporary one is removed. The temporary file sits in the same
directory (a rename within one file system is atomic) and is created by the writer
itself, so it gets the usual permissions (umask).
"""

from __future__ import annotations

import io
import itertools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from ..jsonsafe import json_safe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Tables", "atomic", "save_chart", "table_format", "write_bytes", "write_json", "write_table",
           "write_text"]

Tables = Literal["auto", "csv", "parquet"]

_TMP_IDS = itertools.count()


def table_format(tables: Tables = "auto") -> str:
    """``"parquet"`` or ``"csv"``: what *tables* means here (auto = parquet if pyarrow imports)."""
    if tables not in ("auto", "csv", "parquet"):
        raise ValueError(f"tables must be 'auto', 'csv' or 'parquet', not {tables!r}")
    if tables != "auto":
        return tables
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "csv"
    return "parquet"


def atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a temporary file next to *path*, then rename it to *path*."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{next(_TMP_IDS)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    return atomic(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path, text: str) -> Path:
    """*text* as UTF-8."""
    return atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, value: Any) -> Path:
    """*value* through :func:`~simulator.jsonsafe.json_safe`, indented by 2, newline-terminated."""
    return write_text(path, json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n")


def write_table(frame: Any, path: Path, fmt: str) -> Path:
    """A DataFrame as ``"parquet"`` or ``"csv"`` (no index)."""
    if fmt == "parquet":
        return atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def _close(fig: "Figure") -> None:
    """Release a figure: drop it from pyplot if pyplot knows it, and clear it."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
    fig.clear()


def save_chart(fig: "Figure", out: Path, name: str, svg: bool, written: list[Path], *, dpi: float | None = None,
               tight: bool = False) -> bytes:
    """Write ``<name>.png`` (and ``.svg``) into *out*, append the paths to *written*, close *fig*;
    return the PNG bytes (for embedding)."""
    from ..viz.style import DPI

    extra = {"bbox_inches": "tight", "pad_inches": 0.15} if tight else {}
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi or DPI, facecolor="white", **extra)
        png = buffer.getvalue()
        written.append(write_bytes(out / f"{name}.png", png))
        if svg:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="svg", facecolor="white", **extra)
            written.append(write_bytes(out / f"{name}.svg", buffer.getvalue()))
    finally:
        _close(fig)
    return png
