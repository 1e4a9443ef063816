"""Loading a ~100 MB ``.params`` file against ``numpy.load`` of the same bytes as ``.npy``.

    python benchmarks/params_load.py [--mb 100] [--reps 7]

Writes a ResNet-50-like set of float32 arrays (``nd.save``'s format, i.e. MXNet's bytes
plus keras_defer's CRC-32 trailer; and the same without the trailer, as MXNet writes
it) and the same values as one ``.npy``, then times, side by side in one run (runs
interleaved, page cache warm, median of ``reps``):

- ``mxnet_format.read`` of our file (trailer: every byte checksummed) / ``numpy.load``
- ``mxnet_format.read`` of MXNet's file (no trailer: checked field by field) / ``numpy.load``

and, each in a fresh process, the peak memory the load allocates (tracemalloc: NumPy
reports its buffers to it) over the file's size. Prints one line per measure and a
JSON summary. The bars (issue 13): time <= 1.2x, peak memory <= 1.3x the file size.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def resnet_like_shapes(target_bytes):
    """Conv/BN/FC shapes in ResNet-50's proportions, repeated up to ``target_bytes``."""
    stages = [(64, 256, 3), (128, 512, 4), (256, 1024, 6), (512, 2048, 3)]
    shapes = [(64, 3, 7, 7), (64,), (64,), (64,), (64,)]
    in_ch = 64
    for mid, out, blocks in stages:
        for b in range(blocks):
            for shape in ((mid, in_ch, 1, 1), (mid, mid, 3, 3), (out, mid, 1, 1)):
                shapes += [shape] + [(shape[0],)] * 4  # weight, gamma, beta, mean, var
            if b == 0:
                shapes += [(out, in_ch, 1, 1)] + [(out,)] * 4
            in_ch = out
    shapes += [(1000, 2048), (1000,)]
    out, total = [], 0
    while total < target_bytes:
        for shape in shapes:
            size = 4 * int(np.prod(shape))
            if total + size > target_bytes:
                return out
            out.append(shape)
            total += size
    return out


def _load_npy(path):
    return np.load(path)


def _load_params(path):
    from keras_defer import mxnet_format

    return mxnet_format.read(path)


LOADERS = {"npy": _load_npy, "params": _load_params}


def _memory_child(kind, path):
    """Peak bytes traced while loading ``path`` (run in a fresh process)."""
    import tracemalloc

    from keras_defer import mxnet_format  # noqa: F401  (imported before measuring)

    tracemalloc.start()
    result = LOADERS[kind](path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    print(json.dumps({"peak": peak}))


def _peak(kind, path):
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory", kind, path],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])["peak"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        return _memory_child(*args.memory)

    from keras_defer import mxnet_format

    rng = np.random.default_rng(0)
    shapes = resnet_like_shapes(int(args.mb * 2 ** 20))
    arrays = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    names = ["param%d" % i for i in range(len(arrays))]
    with tempfile.TemporaryDirectory() as folder:
        ours = os.path.join(folder, "ours.params")
        theirs = os.path.join(folder, "mxnet.params")
        npy = os.path.join(folder, "same.npy")
        mxnet_format.write(ours, arrays, names)
        mxnet_format.write(theirs, arrays, names, checksum=False)
        np.save(npy, np.concatenate([a.ravel() for a in arrays]))
        del arrays
        size = os.path.getsize(ours)
        times = {"npy": [], "ours": [], "mxnet": []}
        files = {"npy": npy, "ours": ours, "mxnet": theirs}
        for path in files.values():  # warm the page cache
            LOADERS["npy" if path == npy else "params"](path)
        for _ in range(args.reps):
            for key, path in files.items():
                start = time.perf_counter()
                LOADERS["npy" if key == "npy" else "params"](path)
                times[key].append(time.perf_counter() - start)
        median = {k: statistics.median(v) for k, v in times.items()}
        peaks = {"npy": _peak("npy", npy), "ours": _peak("params", ours),
                 "mxnet": _peak("params", theirs)}
    summary = {
        "file_mb": round(size / 2 ** 20, 1), "arrays": len(shapes),
        "seconds": {k: round(v, 4) for k, v in median.items()},
        "time_ratio_ours_vs_npy": round(median["ours"] / median["npy"], 2),
        "time_ratio_mxnet_file_vs_npy": round(median["mxnet"] / median["npy"], 2),
        "peak_over_file_size": {k: round(v / size, 3) for k, v in peaks.items()},
    }
    print("file: %.1f MB, %d arrays" % (summary["file_mb"], len(shapes)))
    for key in ("npy", "ours", "mxnet"):
        print("%-6s median %.4fs  peak %.3fx file size" % (key, median[key],
                                                          summary["peak_over_file_size"][key]))
    print("ratio ours (with checksum) / numpy.load: %.2f   (bar 1.2)"
          % summary["time_ratio_ours_vs_npy"])
    print("ratio MXNet's file (no trailer) / numpy.load: %.2f   (bar 1.2)"
          % summary["time_ratio_mxnet_file_vs_npy"])
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
