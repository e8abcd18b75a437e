#!/usr/bin/env bash
# Build the Linux installers of Induction Head Explorer from a clean clone:
#
#   dist/induction-gui/induction-gui           PyInstaller onedir bundle (runs in place, offline)
#   dist/induction-gui_<version>_amd64.deb     Debian package: the bundle in /opt/induction-gui,
#                                              /usr/bin/induction-gui, desktop entry, icons, AppStream
#
# Briefcase needs the network at build time (templates, linuxdeploy); PyInstaller and
# dpkg-deb do not, apart from pip's package index. The build has its own virtual
# environment (build/venv), so the development .venv is never touched. Safe to run
# again: apt and pip only install what is missing; the bundle and .deb are rebuilt.
#
# Environment: PYTHON (default python3), DEB_MAINTAINER (the control file's Maintainer),
# SKIP_BENCH=1 (no start-up measurement in the summary, e.g. when a test builds).
set -euo pipefail
cd "$(dirname "$0")/.."

PYINSTALLER_VERSION=6.22.3
# Reverse-DNS application id: the .desktop and metainfo file names. Keep in step with
# APP_ID in packaging/induction-gui.spec (the macOS bundle identifier).
APP_ID=org.inductionheadexplorer.InductionHeadExplorer
MAINTAINER="${DEB_MAINTAINER:-Induction Head Explorer maintainers <induction-gui@localhost>}"
# What the bundle needs from the system. PyInstaller ships most libraries but leaves out
# those that must match the machine (glibc, libGL/libEGL, libxcb); check_linux_deps.py
# below fails the build if the bundle links a package missing here. libfontconfig1 and
# libxkbcommon0 are bundled as libraries but needed for their data: fontconfig's
# configuration and fonts (without them every glyph is a box) and the XKB keymaps
# (without them the keyboard does not work under X). libc6's minimum version is derived.
DEB_DEPENDS="libgl1, libegl1, libxcb1, libfontconfig1, libxkbcommon0"
# Only Qt's Wayland plugin links these; without them Qt falls back to X (XWayland).
DEB_RECOMMENDS="libwayland-client0, libwayland-cursor0, libwayland-egl1"
# Only the eglfs (KMS, no window system) plugins link these: not a desktop app's path.
DEB_OPTIONAL="libdrm2"

APT_PACKAGES=(
  # Qt needs these to run at all, even offscreen (the icons are rendered with Qt)
  libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
  # PyInstaller copies the build machine's xcb libraries into the bundle: they must be here
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-render-util0 libxcb-shape0 libxcb-xkb1
  # so check_linux_deps.py can name the packages the Wayland plugin links
  libwayland-client0 libwayland-cursor0 libwayland-egl1
  # readelf/objdump: how PyInstaller and check_linux_deps.py read shared libraries
  binutils
  # the smoke test's screenshot under a real X server needs a font
  xvfb xauth fonts-dejavu-core fontconfig
)

step() { printf '\n==> %s\n' "$*"; }

PYTHON="${PYTHON:-python3}"
# Debian's own Python needs two packages a fresh machine may lack: python3-venv (for the
# build venv) and libpythonX.Y (PyInstaller bundles the shared libpython; Debian's
# interpreter is linked statically, so the .so comes from that package)
if "$PYTHON" -c 'import sys; sys.exit(sys.prefix != "/usr")'; then
  APT_PACKAGES+=(python3-venv "libpython$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')")
fi

step "System packages"
# shellcheck source=scripts/apt-ensure.sh
source scripts/apt-ensure.sh
apt_ensure "${APT_PACKAGES[@]}"
echo "all present: ${#APT_PACKAGES[@]} packages"

read -r NAME VERSION < <("$PYTHON" -c 'import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print(p["name"], p["version"])')
BUNDLE="dist/$NAME"
DEB="dist/${NAME}_${VERSION}_amd64.deb"
start=$(date +%s)

step "Build environment build/venv ($NAME $VERSION)"
if [ ! -x build/venv/bin/python ]; then
  "$PYTHON" -m venv build/venv
fi
PY=build/venv/bin/python
# pip's and setuptools' chatter goes to a log, shown only when something fails
pip_quiet() { "$PY" -m pip install -q "$@" >build/pip.log 2>&1 || { cat build/pip.log >&2; return 1; }; }
pip_quiet --upgrade pip
pip_quiet "pyinstaller==$PYINSTALLER_VERSION"
# Install from a copy of just what the wheel is built from: pip builds in the source
# folder, and setuptools would reuse a stale build/lib of an older checkout.
rm -rf build/src
mkdir -p build/src
cp -a pyproject.toml README.md induction_gui resources build/src/
find build/src -name __pycache__ -prune -exec rm -rf {} +
pip_quiet build/src
"$PY" -m pip list --format=freeze 2>/dev/null | grep -iE '^(induction-gui|pyinstaller|pyside6|pyqtgraph|numpy|safetensors)' | tr '\n' ' '
echo

step "Icons"
QT_QPA_PLATFORM=offscreen "$PY" packaging/render_icons.py --out build/icons >/dev/null
ls build/icons

step "PyInstaller bundle $BUNDLE"
rm -rf "$BUNDLE"
# the console script, not "python -m PyInstaller": that would put this checkout on sys.path
# and bundle the source folder instead of the package just installed
INDUCTION_GUI_ICONS="$PWD/build/icons" build/venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/induction-gui.spec
"$BUNDLE/$NAME" --version

step "System libraries the bundle links"
"$PY" packaging/check_linux_deps.py "$BUNDLE" --depends "$DEB_DEPENDS" --recommends "$DEB_RECOMMENDS" \
  --optional "$DEB_OPTIONAL"
DEPENDS=$("$PY" packaging/check_linux_deps.py "$BUNDLE" --depends "$DEB_DEPENDS" --print-depends)

step "Debian package $DEB"
umask 022
ROOT="build/deb/root"
rm -rf build/deb "$DEB"
mkdir -p "$ROOT/DEBIAN" "$ROOT/opt" "$ROOT/usr/bin" "$ROOT/usr/share/applications" "$ROOT/usr/share/metainfo" \
  "$ROOT/usr/share/icons"
cp -a "$BUNDLE" "$ROOT/opt/$NAME"
# the bootloader finds _internal/ next to the real executable, so a symlink on PATH is enough
ln -s "/opt/$NAME/$NAME" "$ROOT/usr/bin/$NAME"
cp packaging/linux/induction-gui.desktop "$ROOT/usr/share/applications/$APP_ID.desktop"
cp -a build/icons/hicolor "$ROOT/usr/share/icons/"
# the release date of this version: the last commit's date in a git clone, else today
DATE=$(git log -1 --format=%cs 2>/dev/null || date +%F)
sed -e "s/@APP_ID@/$APP_ID/g" -e "s/@VERSION@/$VERSION/g" -e "s/@DATE@/$DATE/g" \
  packaging/linux/metainfo.xml.in > "$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml"
# whatever the umask of the checkout, installed files are rw-r--r-- and rwxr-xr-x
chmod -R u+rwX,go+rX,go-w "$ROOT"
INSTALLED_SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
# "|" as the sed delimiter: a Maintainer has no "|" but may well have "/"
sed -e "s|@VERSION@|$VERSION|" -e "s|@MAINTAINER@|$MAINTAINER|" -e "s|@INSTALLED_SIZE@|$INSTALLED_SIZE|" \
  -e "s|@DEPENDS@|$DEPENDS|" -e "s|@RECOMMENDS@|$DEB_RECOMMENDS|" packaging/linux/control.in > "$ROOT/DEBIAN/control"
# No maintainer scripts: the icon cache and desktop database are refreshed by dpkg
# triggers of the packages that own them, and a purge must leave nothing behind.

"$PY" - "$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()  # raises on malformed XML
assert root.tag == "component" and root.findtext("id"), "metainfo: no <component>/<id>"
print(f"metainfo: well-formed XML, id {root.findtext('id')}")
EOF
if command -v appstreamcli >/dev/null; then
  appstreamcli validate --no-net --explain "$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml"
fi
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$ROOT/usr/share/applications/$APP_ID.desktop"
fi
# zstd: ~1 s for ~200 MB where dpkg's default xz takes ~1.5 min
dpkg-deb --build -Zzstd --root-owner-group "$ROOT" "$DEB"
dpkg-deb --field "$DEB" Package Version Architecture Depends

step "Smoke test: the frozen window under Xvfb, offline"
OFFLINE=()
# a private network namespace with no interfaces proves the app needs no network
if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then OFFLINE=(unshare --net); fi
SMOKE="build/smoke"
rm -rf "$SMOKE"
mkdir -p "$SMOKE"
env -u QT_QPA_PLATFORM XDG_CONFIG_HOME="$PWD/$SMOKE/config" XDG_DATA_HOME="$PWD/$SMOKE/data" \
  "${OFFLINE[@]}" xvfb-run -a -s "-screen 0 1600x1000x24" \
  "$BUNDLE/$NAME" induction-circuit --screenshot "$SMOKE/induction-circuit.png"
echo "screenshot: $SMOKE/induction-circuit.png${OFFLINE:+ (no network)}"

step "Summary"
printf '%-34s %8.1f MB  (target <= 250 MB)\n' "bundle $BUNDLE" "$(du -sb "$BUNDLE" | cut -f1 | awk '{print $1 / 1e6}')"
printf '%-34s %8.1f MB  (target <= 90 MB)\n' "package $(basename "$DEB")" "$(stat -c %s "$DEB" | awk '{print $1 / 1e6}')"
echo "build time: $(( $(date +%s) - start )) s"
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  # start-up to the first painted window, offscreen (see bench/frozen_bench.py)
  "$PY" -m bench.frozen_bench --runs 5 --no-source
fi
