"""Which system packages a PyInstaller bundle needs on Linux, checked against the .deb's declared dependencies.

PyInstaller copies most shared libraries into the bundle but deliberately leaves
out a few that must match the user's system (glibc, libGL/libEGL, libxcb, the
Wayland client libraries). The .deb has to declare the packages that provide
them, or a learner's bare machine fails with ``ImportError: libGL.so.1`` or
a Qt platform plugin that will not load. Guessing the list rots as Qt and
PyInstaller change, so the build derives it:

1. every ELF file in the bundle, and the sonames it links directly (``readelf -d``
   NEEDED entries: ``ldd`` would also list what those system libraries need
   themselves, which their own packages already declare);
2. the sonames not shipped in the bundle are resolved on the build machine
   (``ldconfig -p``) and mapped to their Debian package (``dpkg -S``);
3. the highest ``GLIBC_x.y`` symbol version any file requires becomes
   ``libc6 (>= x.y)``.

The check fails when a needed package is neither in ``--depends`` nor in
``--recommends`` (the Wayland plugin's libraries: without them Qt falls back to X),
nor listed with ``--optional`` (libraries only plugins the app never needs load).
With ``--print-depends`` it prints the final ``Depends`` value for the control file.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ELF_MAGIC = b"\x7fELF"


def elf_files(bundle: Path) -> list[Path]:
    """Every regular (non-symlink) ELF file under ``bundle``."""
    found = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == ELF_MAGIC:
                    found.append(path)
    return found


def needed_sonames(path: Path) -> set[str]:
    """The sonames ``path`` links directly."""
    out = subprocess.run(["readelf", "-d", "--wide", str(path)], capture_output=True, text=True, check=False).stdout
    return set(re.findall(r"\(NEEDED\)[^\[]*\[([^\]]+)\]", out))


def glibc_versions(path: Path) -> set[tuple[int, ...]]:
    """The ``GLIBC_x.y[.z]`` symbol versions ``path`` requires."""
    out = subprocess.run(["readelf", "-V", "--wide", str(path)], capture_output=True, text=True, check=False).stdout
    return {tuple(int(p) for p in v.split(".")) for v in re.findall(r"Name: GLIBC_([0-9.]+)", out)}


def system_library_paths() -> dict[str, str]:
    """soname -> path of the x86-64 library in the dynamic linker's cache."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    paths: dict[str, str] = {}
    for name, flags, path in re.findall(r"^\s*(\S+) \(([^)]*)\) => (\S+)$", out, re.M):
        if "x86-64" in flags:
            paths.setdefault(name, path)
    return paths


def owning_package(path: str) -> str | None:
    """The Debian package that installed ``path`` (tried as given and with symlinks resolved)."""
    for candidate in dict.fromkeys((path, os.path.realpath(path))):
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False).stdout
        if out:
            return out.split(":", 1)[0].split(",", 1)[0].strip()
    # merged /usr: the linker cache says /lib/..., dpkg may know /usr/lib/... or the reverse
    alt = path[4:] if path.startswith("/usr/") else "/usr" + path
    out = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True, check=False).stdout
    return out.split(":", 1)[0].split(",", 1)[0].strip() if out else None


def _names(value: str) -> set[str]:
    """Package names of a control-file list like ``"libgl1, libc6 (>= 2.34)"``."""
    return {part.strip().split()[0] for part in value.split(",") if part.strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the onedir bundle, e.g. dist/induction-gui")
    parser.add_argument("--depends", default="", help="declared Depends, comma-separated, without libc6")
    parser.add_argument("--recommends", default="", help="declared Recommends, comma-separated")
    parser.add_argument("--optional", default="", help="packages only unneeded plugins link, comma-separated")
    parser.add_argument("--print-depends", action="store_true", help="print only the final Depends value")
    args = parser.parse_args(argv)

    files = elf_files(args.bundle)
    shipped = {p.name for p in args.bundle.rglob("*")}
    users: dict[str, list[Path]] = defaultdict(list)
    glibc: set[tuple[int, ...]] = set()
    for path in files:
        for soname in needed_sonames(path) - shipped:
            users[soname].append(path)
        glibc |= glibc_versions(path)
    cache = system_library_paths()
    packages: dict[str, set[str]] = defaultdict(set)
    unresolved = []
    for soname in sorted(users):
        path = cache.get(soname)
        package = owning_package(path) if path else None
        if package is None:
            unresolved.append(soname)
        else:
            packages[package].add(soname)

    min_glibc = ".".join(map(str, max(glibc))) if glibc else None
    libc = f"libc6 (>= {min_glibc})" if min_glibc else "libc6"
    depends = ", ".join([libc, *[p.strip() for p in args.depends.split(",") if p.strip()]])
    if args.print_depends:
        print(depends)
        return 0

    declared = _names(depends) | _names(args.recommends)
    optional = _names(args.optional)
    problems = []
    print(f"{len(files)} ELF files in {args.bundle}; system packages they link directly:")
    for package in sorted(packages):
        sonames = sorted(packages[package])
        count = len({u for s in sonames for u in users[s]})
        if package in declared:
            verdict = "declared"
        elif package in optional:
            verdict = "optional (only plugins the app does not need)"
        else:
            verdict = "NOT DECLARED"
            problems.append(f"{package} ({', '.join(sonames)}) is needed but not in Depends/Recommends")
        print(f"  {package:<22} {', '.join(sonames):<45} {count:>3} files  {verdict}")
    for soname in unresolved:
        example = users[soname][0].relative_to(args.bundle)
        problems.append(f"{soname} (needed by {example}) is not installed on this build machine")
    print(f"  highest glibc symbol version: {min_glibc} -> {libc}")
    for problem in problems:
        print(f"check_linux_deps: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
