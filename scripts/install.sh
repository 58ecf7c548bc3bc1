#!/usr/bin/env bash
# Create .venv (once) and install the package into it, editable, with the extras named as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
# A venv whose creation was interrupted has a python but no pip: make it again rather than fail later.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    echo "==> creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv --clear .venv
    rm -f .venv/.installed-*
fi
extras=""
if [ $# -gt 0 ]; then extras="[$(IFS=,; echo "$*")]"; fi
stamp=".venv/.installed-$(echo "$extras" | tr -dc 'a-z,')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> pip install -e .$extras"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".$extras"
    touch "$stamp"
fi
