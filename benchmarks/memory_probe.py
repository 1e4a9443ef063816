"""Peak memory of one first pass, in a fresh process: ``memory_probe.py WHICH UNITS``.

WHICH is ``keras_defer`` (a deferred ``Dense(UNITS)``, ``initialize()``-d, then
called on ``(1, UNITS)``) or ``keras`` (``keras.layers.Dense(UNITS)`` called on the
same input). Prints one JSON line: parameter bytes, resident memory before the call
(idle) and the peak above it. The peak counter is reset just before the call
(``/proc/self/clear_refs``), so import-time peaks do not count.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main(which, units):
    import tensorflow as tf

    x = tf.random.uniform((1, units))
    if which == "keras_defer":
        from keras_defer.gluon import nn

        net = nn.Dense(units, use_bias=False)
        net.initialize()
    else:
        import keras

        net = keras.layers.Dense(units, use_bias=False)
    small = tf.random.uniform((1, 4))  # warm op kernels with a tiny net
    if which == "keras_defer":
        warm = nn.Dense(4, use_bias=False)
        warm.initialize()
        warm(small)
    else:
        keras.layers.Dense(4, use_bias=False)(small)
    reset = _reset_peak()
    idle = _status("VmRSS")
    net(x).numpy()
    peak = _status("VmHWM")
    if not reset:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "param_bytes": units * units * 4, "idle": idle, "peak_above_idle": peak - idle,
        "how": "VmHWM reset before the call" if reset else "ru_maxrss (peak since start)",
    }))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
