#!/bin/sh
# Install the Debian tools the DICOM export tests validate with (dciodvfy from dicom3tools,
# dsrdump from dcmtk), only when they are missing. Safe to run repeatedly: when both tools are
# already on PATH it does nothing and exits 0. Needs root (or sudo) only when it installs.
set -eu

missing=""
command -v dciodvfy >/dev/null 2>&1 || missing="$missing dicom3tools"
command -v dsrdump >/dev/null 2>&1 || missing="$missing dcmtk"
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: need$missing (dciodvfy, dsrdump) but apt-get is not available;" \
         "install them with your package manager" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "system-deps: need root to install$missing; run: apt-get install -y$missing" >&2
    exit 1
fi

echo "system-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO apt-get install -y -q --no-install-recommends $missing
