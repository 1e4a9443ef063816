"""Run the laid-out chapters (chapters.ISOLATED) under keras_defer, in this process.

    python -m tests.d2l_port.isolated ROOT OUT.jsonl CHAPTER ...

ROOT is a layout made by layout.make (the d2l package already swapped to keras_defer) and
this process's environment is layout.environment(ROOT): HOME and MXNET_HOME point into it
before keras_defer is imported, as they would for a user whose data sits there. replay.py
starts it. Each chapter runs in a fresh working directory ROOT/<chapter> with fresh
names (naming.reset_counters), a fresh `import d2l` and the sys.path it started with;
as each chapter ends one JSON line is appended to OUT.jsonl: {"chapter", "seconds",
"cpu_seconds", "cells": [{"n", "code", "output", "error"}]}, so a crash or a time-out
keeps what ran.
"""

import json
import os
import sys
import time

from . import chapters, runner


def run_chapter(root, name, full):
    from keras_defer import naming

    from . import layout

    with open(chapters.script_path(name), encoding="utf-8") as handle:
        script = chapters.runnable_script(runner.swap(handle.read()), name, full=full)
    directory = layout.chapter_dir(root, name)
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    for module in [m for m in sys.modules if m == "d2l" or m.startswith("d2l.")]:
        del sys.modules[module]
    naming.reset_counters()
    os.chdir(directory)
    try:
        return runner.run_cells(script, name=name)
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def _cpu_seconds():
    """CPU time of this process and its finished children (DataLoader workers)."""
    import resource

    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv):
    root, out, names = argv[0], argv[1], argv[2:]
    full = chapters.full_runs()
    for name in names:
        start, cpu = time.time(), _cpu_seconds()
        cells = run_chapter(root, name, full)
        record = {"chapter": name, "seconds": round(time.time() - start, 2),
                  "cpu_seconds": round(_cpu_seconds() - cpu, 2),
                  "cells": [{"n": c.n, "code": c.code, "output": c.output, "error": c.error}
                            for c in cells]}
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
