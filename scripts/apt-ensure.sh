# shellcheck shell=bash
# Sourced by scripts/setup.sh and packaging/build-linux.sh: install the Debian packages
# given as arguments that are not installed yet (nothing when all are, so a second run
# is quick and needs no network). Uses sudo when not root.
apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}
