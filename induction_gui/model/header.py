"""The header every JSON file of the app starts with: a format tag and a version, read one way.

Scenarios, lessons and training histories all begin ``{"format":
"induction-gui.<kind>", "version": N, ...}``. :func:`read_header` checks that
pair for each of them with the same rules and words: the wrong tag names the
kind expected, a newer version is refused (an old app must not half-read a
new file), an older one is brought up to date by the kind's migrations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ScenarioError
from .fields import DuplicateKeyDict, ErrorFactory, child, describe

Migration = Callable[[dict[str, Any]], dict[str, Any]]  # a version-v document -> a version-(v + 1) one


@dataclass(frozen=True)
class FileKind:
    """What a file's header must say, and how messages name the file."""

    format: str  # the tag, e.g. "induction-gui.scenario"
    version: int  # the version this app writes, and the newest it reads
    noun: str  # how a message names the file: "file", "lesson", "run"
    question: str  # asked after a wrong tag: "is this a training run?"
    migrations: Mapping[int, Migration] = field(default_factory=dict)  # version v -> its upgrade to v + 1


def read_header(doc: object, kind: FileKind, *, error: ErrorFactory = ScenarioError) -> dict[str, Any]:
    """``doc`` checked for ``kind``'s format tag and version, migrated to the current version.

    Parameters
    ----------
    doc
        the parsed file (a dict for any file that can be read).
    kind
        the file kind expected.
    error
        builds the kind's exception from a JSON path and a detail.

    Returns
    -------
    dict
        the document at ``kind.version`` (a migrated copy, or ``doc`` itself).
    """
    if not isinstance(doc, dict):
        raise error("", f"expected a JSON object at the top level, got {describe(doc)}")
    if isinstance(doc, DuplicateKeyDict):  # before a migration copies it into a plain dict
        raise error(child("", doc.duplicate), "this key appears twice in the same object")
    if doc.get("format") != kind.format:
        got = "it is missing" if "format" not in doc else f"got {describe(doc['format'])}"
        raise error("format", f'expected "{kind.format}", {got} ({kind.question})')
    if "version" not in doc:
        raise error("version", f"missing (expected an integer from 1 to {kind.version})")
    version = doc["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise error("version", f"expected an integer, got {describe(version)}")
    if version < 1:
        raise error("version", f"expected an integer from 1 to {kind.version}, got {version}")
    if version > kind.version:
        raise error(
            "version",
            f"this {kind.noun} was written by a newer version (format version {version}); "
            f"this app reads up to {kind.version}",
        )
    while version < kind.version:
        if version not in kind.migrations:
            raise error("version", f"format version {version} can no longer be read (no migration)")
        doc = kind.migrations[version](dict(doc))
        version += 1
        doc["version"] = version
    return doc
