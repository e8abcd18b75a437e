#!/usr/bin/env bash
# Build the macOS app and disk image:
#   dist/Induction Head Explorer.app                     (PyInstaller BUNDLE of packaging/induction-gui.spec)
#   dist/induction-gui-<version>-macos-<arch>.dmg        (drag the app to Applications)
#
# UNTESTED: written on Linux, where neither the macOS build nor hdiutil can run. It mirrors
# build-linux.sh step by step. PyInstaller builds for the machine's own architecture
# (arm64 on Apple silicon, x86_64 on Intel): build on each for both.
#
# The app is only ad-hoc signed (PyInstaller does that, Apple silicon requires it), not
# notarized: on first start Gatekeeper refuses it until the learner chooses Open from the
# app's context menu (or: xattr -dr com.apple.quarantine "/Applications/Induction Head Explorer.app").
# Signing with a Developer ID and notarizing need an Apple developer account.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(uname -s)" = Darwin ] || { echo "build-macos.sh: runs on macOS only" >&2; exit 2; }

PYINSTALLER_VERSION=6.22.3
PYTHON="${PYTHON:-python3}"
read -r NAME VERSION < <("$PYTHON" -c 'import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print(p["name"], p["version"])')
TITLE="Induction Head Explorer"
APP="dist/$TITLE.app"
DMG="dist/$NAME-$VERSION-macos-$(uname -m).dmg"

echo "==> Build environment build/venv ($NAME $VERSION)"
if [ ! -x build/venv/bin/python ]; then
  "$PYTHON" -m venv build/venv
fi
PY=build/venv/bin/python
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q "pyinstaller==$PYINSTALLER_VERSION"
# from a copy of what the wheel is built from: setuptools would reuse a stale build/lib
rm -rf build/src
mkdir -p build/src
cp -R pyproject.toml README.md induction_gui resources build/src/
"$PY" -m pip install -q build/src

echo "==> Icons"
QT_QPA_PLATFORM=offscreen "$PY" packaging/render_icons.py --out build/icons >/dev/null

echo "==> PyInstaller app $APP"
rm -rf "$APP" "dist/$NAME"
# the console script, not "python -m PyInstaller", which would bundle this checkout's sources
INDUCTION_GUI_ICONS="$PWD/build/icons" build/venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/induction-gui.spec
# the console executable (sub-commands) sits next to the windowed one inside the bundle
"$APP/Contents/MacOS/$NAME-cli" --version
"$APP/Contents/MacOS/$NAME-cli" presets >/dev/null
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/$NAME-cli" induction-circuit --screenshot build/smoke-macos.png

echo "==> Disk image $DMG"
rm -rf build/dmg "$DMG"
mkdir -p build/dmg
cp -R "$APP" build/dmg/
ln -s /Applications build/dmg/Applications  # the usual drag-to-install target
hdiutil create -volname "$TITLE" -srcfolder build/dmg -ov -format UDZO "$DMG"

echo "==> Summary"
echo "app  $APP  $(du -sm "$APP" | cut -f1) MiB"
echo "dmg  $DMG  $(du -sm "$DMG" | cut -f1) MiB"
