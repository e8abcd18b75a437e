"""Find the ``resources/`` folder wherever the app runs from.

The same files (presets, lessons, icons, toy checkpoints) live in three places
depending on how the app was started, and callers should not care which:

* a frozen PyInstaller bundle: ``sys._MEIPASS/resources``;
* an installed wheel: ``induction_gui/_resources`` (the packaging maps the
  top-level ``resources/`` there);
* a source checkout: ``resources/`` next to the package folder.

An unknown name raises :class:`ResourceError` listing the names that do exist,
so a typo in a preset name is fixed from the message alone.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath

_PACKAGE_DIR = Path(__file__).resolve().parent
SCENARIOS = "scenarios"  # sub-folder of the presets
PRESET_SUFFIX = ".json"


class ResourceError(LookupError):
    """A resource (or the resources folder itself) does not exist; the message lists what does."""


def _candidate_roots() -> list[Path]:
    """Where ``resources/`` may be, most specific first."""
    roots = []
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        roots.append(Path(bundle) / "resources")
    roots.append(_PACKAGE_DIR / "_resources")
    roots.append(_PACKAGE_DIR.parent / "resources")
    return roots


def resource_root() -> Path:
    """The ``resources/`` folder of this installation.

    Raises
    ------
    ResourceError
        if none of the known places has one (a broken installation).
    """
    candidates = _candidate_roots()
    for root in candidates:
        if root.is_dir():
            return root
    raise ResourceError("no resources folder found; looked in " + ", ".join(str(c) for c in candidates))


def _known(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return ", ".join(names) if names else "(none)"


def resource_path(*parts: str) -> Path:
    """Path of an existing file or folder inside ``resources/``.

    Parameters
    ----------
    *parts
        path components below ``resources/``, e.g. ``("scenarios", "induction.json")``.
        Absolute paths and ``..`` are refused: resources never point outside the folder.

    Raises
    ------
    ResourceError
        naming the missing resource and listing its siblings.
    """
    rel = PurePosixPath(*parts) if parts else PurePosixPath()
    if rel.is_absolute() or ".." in rel.parts or any("\\" in p for p in rel.parts):
        raise ResourceError(f"{'/'.join(parts)!r}: expected a relative path inside resources/")
    path = resource_root().joinpath(*rel.parts)
    if not path.exists():
        raise ResourceError(f"no resource {rel.as_posix()!r}; {rel.parent.as_posix()}/ holds: {_known(path.parent)}")
    return path


def preset_names() -> list[str]:
    """Names of the bundled preset scenarios (``resources/scenarios/<name>.json``), sorted."""
    folder = resource_root() / SCENARIOS
    if not folder.is_dir():
        return []
    files = (p for p in folder.iterdir() if p.name.endswith(PRESET_SUFFIX) and p.is_file())
    return sorted(p.name[: -len(PRESET_SUFFIX)] for p in files)


def preset_path(name: str) -> Path:
    """Path of the preset scenario ``name``.

    Raises
    ------
    ResourceError
        if there is no such preset; the message lists the known ones.
    """
    names = preset_names()
    if name not in names:
        known = ", ".join(names) if names else "(none installed)"
        raise ResourceError(f"unknown preset {name!r}; known presets: {known}")
    return resource_root() / SCENARIOS / f"{name}{PRESET_SUFFIX}"
