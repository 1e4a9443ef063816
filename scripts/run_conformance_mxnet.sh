#!/usr/bin/env bash
# Run the conformance kit against MXNet Gluon 1.9.1, the ground truth.
#
# Builds (once) MXNet's side environment with ../shared/tools/mxnet-venv (MXNet 1.9.1,
# numpy<1.24, Python 3.11), adds hypothesis and pytest to it, then runs
# `python -m conformance --impl mxnet` with any extra arguments, e.g.
#   scripts/run_conformance_mxnet.sh --profile thorough --report mxnet.json
# Environment: MXNET_VENV (the builder's, default ~/.cache/mxnet-1.9.1), MXNET_VENV_BUILDER.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILDER="${MXNET_VENV_BUILDER:-$ROOT/../shared/tools/mxnet-venv}"
if [ -x "$BUILDER" ]; then
    PY="$("$BUILDER")"          # builds it on first use, prints its python
else
    PY="${MXNET_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mxnet-1.9.1}/bin/python"
fi
if ! "$PY" -c "import mxnet" >/dev/null 2>&1; then
    echo "no MXNet 1.9.1 environment ($PY) and no builder at $BUILDER" >&2
    exit 2
fi
VENV="$(dirname "$(dirname "$PY")")"
if ! "$PY" -c "import hypothesis, pytest" >/dev/null 2>&1; then
    "$VENV/bin/pip" install -q "hypothesis>=6.100" "pytest>=7"
fi
cd "$ROOT"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PY" -m conformance --impl mxnet "$@"
