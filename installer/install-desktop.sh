#!/bin/sh
# Install MedMO Viewer for the current user: a virtual environment in
# ${MEDMO_HOME:-~/.local/share/medmo/app}, the `medmo` command in ~/.local/bin and a desktop
# menu entry. Run from a checkout: sh installer/install-desktop.sh [ADDONS]
# Installs exactly requirements.lock (the tested environment, hashes checked), then the app.
# ADDONS: optional pip extras beyond the lock, e.g. "flash,quant" on a CUDA workstation; they are
# installed with the lock's versions as constraints, so they cannot move a tested package.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
home=${MEDMO_HOME:-$HOME/.local/share/medmo/app}
addons=${1:-}
python=${PYTHON:-python3}

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "install-desktop: Python >= 3.11 is required" >&2; exit 1; }
"$python" -m venv "$home"
"$home/bin/pip" install -q --require-hashes -r "$here/requirements.lock"
"$home/bin/pip" install -q --no-deps --no-build-isolation "$here"
cp "$here/requirements.lock" "$home/requirements.lock"  # medmo doctor compares with it
if [ -n "$addons" ]; then
    grep -E '^[A-Za-z0-9]' "$here/requirements.lock" | sed 's/ *\\$//' > "$home/constraints.txt"
    "$home/bin/pip" install -q -c "$home/constraints.txt" "$here[$addons]"
fi
"$home/bin/pip" check
mkdir -p "$HOME/.local/bin" "$HOME/.local/share/applications"
ln -sf "$home/bin/medmo" "$HOME/.local/bin/medmo"
sed "s|@MEDMO@|$home/bin/medmo|" "$here/installer/medmo-viewer.desktop" \
    > "$HOME/.local/share/applications/medmo-viewer.desktop"
echo "installed: $HOME/.local/bin/medmo (menu: MedMO Viewer). Check it with: medmo doctor"
