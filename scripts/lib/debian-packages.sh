# Sourced by the scripts that need Debian packages. ensure_debian_packages [--no-recommends] PACKAGE… installs the
# ones not installed yet (with sudo when not root), quietly; nothing when all are there.
ensure_debian_packages() {
  local options=() missing=() package sudo=""
  if [ "${1:-}" = "--no-recommends" ]; then options+=(--no-install-recommends); shift; fi
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${options[@]}" "${missing[@]}" >/dev/null
}
