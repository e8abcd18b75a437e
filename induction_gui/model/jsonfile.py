"""Strict JSON files: bounded reading, readable writing, atomic replacement.

Python's ``json`` accepts ``NaN`` and ``Infinity``, turns ``1e999`` into inf,
keeps the last of two equal keys and recurses once per bracket, so a hostile
or careless file can smuggle in non-finite weights or overflow the stack. The
reader here refuses all of that with a message a teacher can act on, and the
writers never leave a half-written file behind.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import ScenarioError
from .fields import BadNumber, DuplicateKeyDict
from .limits import MAX_DEPTH, MAX_FILE_BYTES

# A JSON string (escapes included) or one bracket; text between matches is skipped in C.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_MAX_INT_DIGITS = 400  # longer integer literals are beyond float64 and Python's str->int limit


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than ``max_depth`` before ``json`` recurses into it."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                line, col = _line_col(text, match.start())
                raise ScenarioError(
                    "", f"line {line}, column {col}: brackets nested deeper than {max_depth} levels"
                )
        elif token in "]}":
            depth -= 1


def _parse_constant(literal: str) -> BadNumber:
    return BadNumber(literal, "NaN" if literal == "NaN" else "infinite")


def _parse_float(literal: str) -> float | BadNumber:
    value = float(literal)
    if not math.isfinite(value):
        return BadNumber(literal, "overflows to infinity")
    return value


def _parse_int(literal: str) -> int | BadNumber:
    if len(literal) > _MAX_INT_DIGITS:
        return BadNumber(literal[:12] + "...", f"an integer of {len(literal)} digits")
    return int(literal)


def _object_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    dup = DuplicateKeyDict(obj)
    for key, _ in pairs:
        if key in seen:
            dup.duplicate = key
            break
        seen.add(key)
    return dup


def parse_json_text(text: str, *, max_depth: int = MAX_DEPTH) -> object:
    """Parse JSON text strictly (see the module docstring); errors carry line and column."""
    check_depth(text, max_depth)
    try:
        return json.loads(
            text,
            parse_constant=_parse_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
            object_pairs_hook=_object_pairs,
        )
    except json.JSONDecodeError as exc:
        raise ScenarioError("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise ScenarioError("", f"invalid JSON: {exc}") from None


def read_bytes(path: Path, *, max_bytes: int = MAX_FILE_BYTES, what: str = "file") -> bytes:
    """The whole of a regular file no larger than ``max_bytes``.

    The size is checked before reading and again while reading, so a device,
    a pipe or a file that grows can neither hang nor exhaust memory.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError("", f"no such {what}") from None
    except OSError as exc:
        raise ScenarioError("", f"cannot read the {what} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError("", f"is a folder, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError("", f"is not a regular {what}")
    too_big = f"the {what} is larger than the limit of {max_bytes:,} bytes"
    if info.st_size > max_bytes:
        raise ScenarioError("", f"{too_big} ({info.st_size:,} bytes)")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise ScenarioError("", f"cannot read the {what} ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise ScenarioError("", too_big)
    return data


def decode_utf8(data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark, as some Windows editors write, is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(good, len(good))
        raise ScenarioError(
            "", f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col} (save the file as UTF-8)"
        ) from None


def read_json_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES, what: str = "file") -> object:
    """Read and strictly parse a JSON file of at most ``max_bytes`` (``what`` names it in messages)."""
    return parse_json_text(decode_utf8(read_bytes(path, max_bytes=max_bytes, what=what)))


# -- writing ------------------------------------------------------------------------
class RawNumber(str):
    """Number text already formatted (and checked to read back exactly); written verbatim."""

    __slots__ = ()


def _scalar(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot write the non-finite number {value} as JSON")
    return json.dumps(value, ensure_ascii=False)


def _flat_list(values: list[object]) -> str:
    types = set(map(type, values))
    if types == {RawNumber}:
        return "[" + ", ".join(values) + "]"  # type: ignore[arg-type]
    if types <= {int, float}:
        if not all(map(math.isfinite, values)):  # type: ignore[arg-type]
            raise ValueError("cannot write a non-finite number as JSON")
        return "[" + ", ".join(map(repr, values)) + "]"  # repr round-trips every float exactly
    return "[" + ", ".join(map(_scalar, values)) + "]"


def dumps_pretty(value: object, indent: int = 0) -> str:
    """JSON with objects one key per line and every innermost list on one line.

    Weight matrices thus read row by row instead of one number per line. Floats
    are written with ``repr``, the shortest text that reads back to the same
    float64, so float32 values survive the round trip bit for bit.
    """
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [f"{pad}  {json.dumps(k, ensure_ascii=False)}: {dumps_pretty(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, list):
        if not any(isinstance(v, list | dict) for v in value):
            return _flat_list(value)
        lines = [f"{pad}  {dumps_pretty(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(lines) + f"\n{pad}]"
    return _scalar(value)


def write_temp(target: Path, data: bytes) -> Path:
    """Write ``data`` to a new hidden file next to ``target`` and flush it to disk.

    Next to the target because ``os.replace`` is only atomic within one file system.
    """
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        # mkstemp creates the file private (0600); a saved scenario gets the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(fd if os.chmod in os.supports_fd else name, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _backup(target: Path) -> Path:
    """A second name for ``target``'s current contents (a hard link where possible)."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".bak")
    os.close(fd)
    backup = Path(name)
    try:
        backup.unlink()
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)  # file systems without hard links
    return backup


def replace_all(moves: Sequence[tuple[Path, Path]]) -> None:
    """Move each temporary file onto its target, all or nothing.

    The last move is the commit point; if it (or any before it) fails, targets
    already replaced get their old contents back, so a scenario and its sibling
    weights never disagree after an error. Temporary files left over are removed.
    """
    backups: dict[Path, Path] = {}  # target -> its old contents
    done: list[Path] = []
    try:
        for i, (tmp, target) in enumerate(moves):
            if i < len(moves) - 1 and target.exists():
                backups[target] = _backup(target)
            os.replace(tmp, target)
            done.append(target)
    except BaseException:
        for target in reversed(done):
            with contextlib.suppress(OSError):
                if target in backups:
                    os.replace(backups[target], target)
                else:
                    target.unlink()  # did not exist before this save
        raise
    finally:
        for tmp, _ in moves:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        for backup in backups.values():
            with contextlib.suppress(OSError):
                backup.unlink(missing_ok=True)
