#!/bin/sh
# Install MedMO Viewer for the current user: a virtual environment in
# ${MEDMO_HOME:-~/.local/share/medmo/app}, the `medmo` command in ~/.local/bin and a desktop
# menu entry. Run from a checkout: sh installer/install-desktop.sh [EXTRAS]
# EXTRAS: pip extras to add, e.g. "flash,quant" on a CUDA workstation (default: train,dicom-export).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
home=${MEDMO_HOME:-$HOME/.local/share/medmo/app}
extras=${1:-train,dicom-export}
python=${PYTHON:-python3}

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "install-desktop: Python >= 3.11 is required" >&2; exit 1; }
"$python" -m venv "$home"
"$home/bin/pip" install -q -U pip
"$home/bin/pip" install -q "$here[$extras]"
mkdir -p "$HOME/.local/bin" "$HOME/.local/share/applications"
ln -sf "$home/bin/medmo" "$HOME/.local/bin/medmo"
sed "s|@MEDMO@|$home/bin/medmo|" "$here/installer/medmo-viewer.desktop" \
    > "$HOME/.local/share/applications/medmo-viewer.desktop"
echo "installed: $HOME/.local/bin/medmo (menu: MedMO Viewer). Check it with: medmo doctor"
