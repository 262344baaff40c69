#!/bin/sh
# System libraries and tools MedMO Viewer needs beside its Python packages.
#
#   sh installer/system-deps.sh qt     Qt's xcb runtime libraries (to open a window)
#   sh installer/system-deps.sh test   qt + Xvfb, the DICOM validators (dicom3tools, dcmtk),
#                                      Orthanc with its DICOMweb plugin and jemalloc (the
#                                      test suite; `make train-demo-model` uses jemalloc)
#   sh installer/system-deps.sh all    the same as test
#
# Installs only what is missing, with apt-get (Debian/Ubuntu; root or sudo). On other
# distributions it names the libraries and exits 1. Safe to run repeatedly: when everything is
# present it does nothing.
#
# The Qt list is what `ldd` shows PySide6 6.11's platform plugin (plugins/platforms/libqxcb.so)
# and libQt6XcbQpa/Gui/Widgets/DBus link against; app/qt/display_check.py holds the same list as
# shared-library names, and names the missing ones before Qt is started.
set -eu

what=${1:-all}

QT_PACKAGES="libegl1 libgl1 libglx0 libglvnd0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libx11-6
libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1
libxcb-xfixes0 libxcb-xkb1 libxkbcommon0 libxkbcommon-x11-0"
# package:command pairs for the test tools (a package counts as present when its command is)
TEST_TOOLS="xvfb:Xvfb dicom3tools:dciodvfy dcmtk:dsrdump orthanc:Orthanc"
TEST_LIBS="libjemalloc2"
ORTHANC_DICOMWEB=/usr/share/orthanc/plugins/libOrthancDicomWeb.so

case "$what" in
    qt) tools=""; libs="" ;;
    test|all) tools=$TEST_TOOLS; libs=$TEST_LIBS ;;
    *) echo "usage: sh installer/system-deps.sh [qt|test|all]" >&2; exit 2 ;;
esac

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in $QT_PACKAGES $libs; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
            || missing="$missing $pkg"
    done
fi
for pair in $tools; do
    command -v "${pair#*:}" >/dev/null 2>&1 || missing="$missing ${pair%%:*}"
done
if [ -n "$tools" ] && [ ! -f "$ORTHANC_DICOMWEB" ]; then
    missing="$missing orthanc-dicomweb"
fi
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing$missing. This is not a Debian/Ubuntu system: install the" \
         "equivalents with your package manager (Qt needs the xcb libraries libxcb-cursor," \
         "libxcb-icccm, libxcb-keysyms, libxcb-image, libxcb-render-util, libxkbcommon-x11;" \
         "the tests need Xvfb, dicom3tools, dcmtk, Orthanc with its DICOMweb plugin and" \
         "jemalloc)" >&2
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
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
# Debian starts the packaged Orthanc service on install; the tests run their own instances
if [ -n "$tools" ] && command -v service >/dev/null 2>&1; then
    $SUDO service orthanc stop >/dev/null 2>&1 || true
fi
echo "system-deps: installed$missing"
