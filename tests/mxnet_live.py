"""Run MXNet 1.9.1 itself, when its side environment is here, for tests whose reference
data is too big to record (model-zoo weights, exported graphs MXNet must load).

The environment is built by ``../shared/tools/mxnet-venv``; its python is found at
``$KERAS_DEFER_MXNET_PYTHON`` or at the path that tool uses. Where it is absent the tests
that need it skip with the reason; the recorded references cover the rest.
"""

import os
import subprocess

import pytest

DEFAULT_PYTHON = "/root/.cache/mxnet-1.9.1/bin/python"


def mxnet_python():
    """The MXNet side environment's python, or None."""
    path = os.environ.get("KERAS_DEFER_MXNET_PYTHON") or DEFAULT_PYTHON
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


requires_mxnet = pytest.mark.skipif(
    mxnet_python() is None,
    reason="MXNet 1.9.1's side environment is not here (build it with "
           "../shared/tools/mxnet-venv, or set KERAS_DEFER_MXNET_PYTHON)")


def run_mxnet(script, cwd, timeout=600):
    """Run ``script`` (Python source) with MXNet's python in ``cwd``; its stdout.

    The child gets a clean environment (no TensorFlow/JAX settings leak in); a failure
    raises with MXNet's stderr, so a test's report shows what MXNet said."""
    python = mxnet_python()
    if python is None:
        pytest.skip("MXNet 1.9.1's side environment is not here")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "MXNET_HOME": str(cwd), "OMP_NUM_THREADS": "2", "PYTHONHASHSEED": "0"}
    done = subprocess.run([python, "-c", script], cwd=str(cwd), env=env, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError("MXNet failed (exit %d):\n%s" % (done.returncode,
                                                             done.stderr[-4000:]))
    return done.stdout


__all__ = ["DEFAULT_PYTHON", "mxnet_python", "requires_mxnet", "run_mxnet"]
