"""The Debian package: its control fields, and exactly the files a desktop install needs, owned by root.

Read with dpkg-deb only (nothing is installed): the fields apt resolves, the
file list, and the contents of the desktop entry, metainfo and icons. A purge
leaves nothing behind because every file is dpkg's and there are no maintainer
scripts to write others; ``test_no_maintainer_scripts`` keeps it so.
"""

from __future__ import annotations

import configparser
import re
import struct
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1500),  # the first test pays for the one build of the run
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the .deb is built on Linux only"),
]

DEB_BUDGET_MB = 90.0
REQUIRED_DEPENDS = {"libgl1", "libegl1", "libfontconfig1", "libc6"}
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# everything the package may install lives under one of these
ALLOWED = ("./opt/induction-gui/", "./usr/bin/induction-gui", "./usr/share/applications/",
           "./usr/share/icons/hicolor/", "./usr/share/metainfo/")
LISTING = re.compile(r"^(?P<mode>\S{10}) (?P<owner>\S+)\s+(?P<size>\d+) \S+ \S+ (?P<path>.+?)(?: -> (?P<target>.+))?$")


def dpkg_deb(*args: str) -> str:
    result = subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def listing(deb: Path) -> dict[str, dict[str, str]]:
    """``dpkg-deb -c``: path -> mode, owner, size, symlink target."""
    entries = {}
    for line in dpkg_deb("--contents", str(deb)).splitlines():
        match = LISTING.match(line)
        assert match, f"unexpected listing line: {line}"
        entries[match["path"]] = match.groupdict()
    return entries


@pytest.fixture(scope="module")
def small_files(deb: Path) -> dict[str, bytes]:
    """Contents of the package's files under /usr/share (streamed from the data archive, nothing installed)."""
    files = {}
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            if member.isfile() and member.name.startswith("./usr/share/"):
                files[member.name] = tar.extractfile(member).read()
    assert proc.wait(timeout=120) == 0
    return files


def test_control_fields(deb: Path, version: str) -> None:
    fields = dict(
        line.split(": ", 1) for line in dpkg_deb("--field", str(deb), "Package", "Version", "Architecture",
                                                  "Depends").splitlines()
    )
    assert fields["Package"] == "induction-gui"
    assert fields["Version"] == version
    assert fields["Architecture"] == "amd64"
    depends = {part.strip().split()[0] for part in fields["Depends"].split(",")}
    assert REQUIRED_DEPENDS <= depends, f"Depends lacks {REQUIRED_DEPENDS - depends}"
    assert re.search(r"libc6 \(>= 2\.\d+\)", fields["Depends"]), "libc6 needs the minimum glibc the bundle uses"


def test_size_within_budget(deb: Path) -> None:
    size_mb = deb.stat().st_size / 1e6
    assert size_mb <= DEB_BUDGET_MB, f"the .deb is {size_mb:.0f} MB, budget {DEB_BUDGET_MB:.0f} MB"


def test_files_are_where_a_desktop_looks_and_owned_by_root(listing: dict[str, dict[str, str]]) -> None:
    app = listing["./opt/induction-gui/induction-gui"]
    assert app["mode"].startswith("-rwxr-xr-x")
    launcher = listing["./usr/bin/induction-gui"]
    assert launcher["mode"].startswith("l") and launcher["target"] == "/opt/induction-gui/induction-gui"
    assert any(p.startswith("./opt/induction-gui/_internal/resources/scenarios/") for p in listing)
    desktop = [p for p in listing if p.startswith("./usr/share/applications/") and p.endswith(".desktop")]
    assert len(desktop) == 1
    metainfo = [p for p in listing if p.startswith("./usr/share/metainfo/") and p.endswith(".metainfo.xml")]
    assert len(metainfo) == 1
    for size in ICON_SIZES:
        assert f"./usr/share/icons/hicolor/{size}x{size}/apps/induction-gui.png" in listing
    assert "./usr/share/icons/hicolor/scalable/apps/induction-gui.svg" in listing
    not_root = [p for p, e in listing.items() if e["owner"] != "root/root"]
    assert not not_root, f"not owned by root/root: {not_root[:5]}"
    # rwxrwxrwx: index 5 is group write, 8 other write (symlinks always show them)
    writable = [p for p, e in listing.items() if e["mode"][0] != "l" and "w" in (e["mode"][5], e["mode"][8])]
    assert not writable, f"group/world-writable: {writable[:5]}"
    files = [p for p, e in listing.items() if not e["mode"].startswith("d")]
    stray = [p for p in files if not p.startswith(ALLOWED)]
    assert not stray, f"files outside the expected folders: {stray[:5]}"


def test_no_maintainer_scripts(deb: Path) -> None:
    """Without postinst/postrm nothing is written that dpkg does not know about, so a purge removes everything."""
    proc = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, timeout=60)
    assert proc.returncode == 0
    members = subprocess.run(["tar", "-t"], input=proc.stdout, capture_output=True, timeout=60).stdout.decode()
    names = {Path(n).name for n in members.split() if n not in ("./", ".")}
    assert names <= {"control", "md5sums"}, f"unexpected control members: {names}"


def test_desktop_entry_and_metainfo_agree(small_files: dict[str, bytes], version: str) -> None:
    (desktop_path,) = [p for p in small_files if p.endswith(".desktop")]
    entry = configparser.ConfigParser(interpolation=None, strict=True)
    entry.optionxform = str  # keys are case-sensitive
    entry.read_string(small_files[desktop_path].decode("utf-8"))
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"].split()[0] == "induction-gui"
    assert section["Icon"] == "induction-gui"
    assert section["Name"] == "Induction Head Explorer"
    assert "Education" in section["Categories"].split(";")

    (metainfo_path,) = [p for p in small_files if p.endswith(".metainfo.xml")]
    component = ET.fromstring(small_files[metainfo_path])
    app_id = component.findtext("id")
    assert component.get("type") == "desktop-application"
    assert Path(metainfo_path).name == f"{app_id}.metainfo.xml"
    assert Path(desktop_path).name == component.findtext("launchable") == f"{app_id}.desktop"
    assert component.find("releases/release").get("version") == version
    assert component.findtext("provides/binary") == "induction-gui"


def test_icons_have_their_declared_sizes(small_files: dict[str, bytes]) -> None:
    for size in ICON_SIZES:
        data = small_files[f"./usr/share/icons/hicolor/{size}x{size}/apps/induction-gui.png"]
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
        assert (width, height) == (size, size)
    svg = ET.fromstring(small_files["./usr/share/icons/hicolor/scalable/apps/induction-gui.svg"])
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
