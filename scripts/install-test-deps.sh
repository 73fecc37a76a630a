#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine with Swift, and nothing that is already there:
# Debian packages (SQLite headers, openssl for the HTTPS test, curl for the dev-mode test, bubblewrap and python3.11
# for the sandbox tests, gdb for the backtraces of a hung test run, chromium and its driver for the admin console's
# browser test), a Python virtual environment in .venv with the real clients from Tests/interop/requirements.txt,
# and the microVM guest in .microvm-guest (scripts/build-microvm-guest.sh, which installs QEMU and its tools).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/debian-packages.sh
ensure_debian_packages libsqlite3-dev openssl curl ca-certificates bubblewrap util-linux python3.11 gdb chromium chromium-driver

requirements=Tests/interop/requirements.txt
stamp=.venv/.requirements.sha256
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "preparing .venv from $requirements"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"
  echo "$wanted" > "$stamp"
fi

# Wheels for the example agents' requirements, so the tests deploy them with pip offline (artifacts.pip.findLinks).
wheelhouse=.venv/wheelhouse
agent_requirements=(examples/agents/*/requirements.txt)
wanted=$(cat "${agent_requirements[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$wheelhouse/.requirements.sha256" 2>/dev/null)" != "$wanted" ]; then
  echo "downloading wheels for ${agent_requirements[*]} into $wheelhouse"
  rm -rf "$wheelhouse"
  args=()
  for file in "${agent_requirements[@]}"; do args+=(-r "$file"); done
  /usr/bin/python3.11 -m pip download -q --disable-pip-version-check --only-binary :all: -d "$wheelhouse" "${args[@]}"
  echo "$wanted" > "$wheelhouse/.requirements.sha256"
fi

# The microVM guest the microvm driver's tests boot, rebuilt when its recipe changes.
guest=.microvm-guest
wanted=$(cat scripts/build-microvm-guest.sh scripts/microvm-guest-init scripts/microvm-guest-reseed scripts/microvm-guest-python-restore | sha256sum | cut -d' ' -f1)
if [ "$(cat "$guest/.recipe.sha256" 2>/dev/null)" != "$wanted" ]; then
  echo "building the microVM guest into $guest"
  ./scripts/build-microvm-guest.sh "$guest"
  echo "$wanted" > "$guest/.recipe.sha256"
fi
