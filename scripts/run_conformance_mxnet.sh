#!/usr/bin/env bash
# Run the conformance kit against MXNet Gluon 1.9.1, the ground truth.
#
# Builds (once) MXNet's side environment with ../shared/tools/mxnet-venv (MXNet 1.9.1,
# numpy<1.24, Python 3.11), adds hypothesis and pytest to it, then runs
# `python -m conformance --impl mxnet` with any extra arguments, e.g.
#   scripts/run_conformance_mxnet.sh --profile thorough --report mxnet.json
# Environment: MXNET_VENV (default ~/.cache/mxnet-1.9.1), MXNET_VENV_BUILDER.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${MXNET_VENV:-$HOME/.cache/mxnet-1.9.1}"
BUILDER="${MXNET_VENV_BUILDER:-$ROOT/../shared/tools/mxnet-venv}"
PY="$VENV/bin/python"

if ! "$PY" -c "import mxnet" >/dev/null 2>&1; then
    if [ ! -x "$BUILDER" ]; then
        echo "no MXNet environment at $VENV and no builder at $BUILDER" >&2
        exit 2
    fi
    "$BUILDER"
fi
if ! "$PY" -c "import hypothesis, pytest" >/dev/null 2>&1; then
    "$VENV/bin/pip" install -q "hypothesis>=6.100" "pytest>=7"
fi
cd "$ROOT"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PY" -m conformance --impl mxnet "$@"
