#!/usr/bin/env bash
# Prepare a fresh Debian machine: system libraries Qt needs (even offscreen),
# a virtual environment in .venv, and the package with its test extra.
# Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # Qt needs these even with QT_QPA_PLATFORM=offscreen
  libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
  # a real X server for screenshots, and the xcb libraries Qt's X plugin loads
  xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
  # without a font every glyph is a box
  fonts-dejavu-core fontconfig
)

PYTHON="${PYTHON:-python3}"
# Debian's own Python makes virtual environments only with python3-venv installed
if "$PYTHON" -c 'import sys; sys.exit(sys.prefix != "/usr")'; then
  APT_PACKAGES+=(python3-venv)
fi

# shellcheck source=scripts/apt-ensure.sh
source scripts/apt-ensure.sh
apt_ensure "${APT_PACKAGES[@]}"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
