"""``python -m benchmarks [--quick] [--json] [--only ID ...]``: the ratio table.

Every figure is one row (``collect_params``/``initialize`` are two).
Columns are the measured values per framework; ``ratio`` is the quantity the
target is stated on. ``--quick`` shrinks every size for a smoke run (its numbers
are not comparable with a full run's).
"""

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FULL = dict(calls=300, reps=9, first_reps=15, depth=400, deep_reps=3,
            large=(4096, 1024, 4096, 4096, 10), large_calls=1, large_reps=9,
            fit_samples=2048, fit_reps=21, params_depth=1000, memory_units=16384)
QUICK = dict(calls=20, reps=3, first_reps=3, depth=40, deep_reps=1,
             large=(64, 32, 64, 64, 10), large_calls=5, large_reps=2,
             fit_samples=256, fit_reps=1, params_depth=100, memory_units=1024)

COLUMNS = ("keras_defer", "keras", "tf", "mxnet", "torch")


def machine():
    import keras
    import tensorflow as tf

    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")),
                       platform.processor())
    except OSError:
        cpu = platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "platform": platform.platform()}


def _fmt(value):
    if value is None:
        return "—"
    if abs(value) >= 100:
        return "%.0f" % value
    if abs(value) >= 10:
        return "%.1f" % value
    return "%.2f" % value


def table(rows):
    head = ("| figure | unit | keras_defer | native Keras | hand TF | MXNet Gluon "
            "| PyTorch lazy | ratio | target | met |")
    lines = [head, "|" + " --- |" * 10]
    for r in rows:
        v = r["values"]
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s |" % (
            r["figure"], r["unit"], *(_fmt(v.get(c)) for c in COLUMNS),
            _fmt(r["ratio"]), r["ratio_of"], r["target"], met))
    notes = ["- %s: %s" % (r["id"], r["note"]) for r in rows if r.get("note")]
    return "\n".join(lines + ([""] + notes if notes else []))


_SIDES = (("mxnet", "MXNet"), ("torch", "PyTorch"))


def _side_line(name, measured):
    if not measured:
        return "%s absent" % name
    if "error" in measured:
        return "%s failed" % name
    version = next((v for k, v in measured.items() if k.endswith("_version")), "?")
    return "%s %s" % (name, version)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--only", nargs="*", help="figure function names to run")
    parser.add_argument("--no-mxnet", action="store_true",
                        help="skip the side processes (MXNet Gluon, PyTorch)")
    args = parser.parse_args(argv)

    from benchmarks import figures

    cfg = QUICK if args.quick else FULL
    start = time.time()
    sides = {} if args.no_mxnet else figures.run_sides(cfg)
    rows = []
    for fig in figures.FIGURES:
        if args.only and fig.__name__ not in args.only:
            continue
        result = fig(cfg, sides)
        rows.extend(result if isinstance(result, list) else [result])
    report = {"quick": args.quick, "machine": machine(), "seconds": round(time.time() - start, 1),
              "mxnet": sides.get("mxnet") or "absent", "torch": sides.get("torch") or "absent",
              "rows": rows}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        m = report["machine"]
        print("machine: %s, %s cores, Python %s, TensorFlow %s, Keras %s; %s" % (
            m["cpu"], m["cores"], m["python"], m["tensorflow"], m["keras"],
            "; ".join(_side_line(name, sides.get(key)) for key, name in _SIDES)))
        print(table(rows))
    return 0
