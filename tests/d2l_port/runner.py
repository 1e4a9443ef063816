"""Run a d2l chapter's cells one by one and record what each prints.

Framework-neutral and dependency-free: the MXNet side environment (numpy 1.23, no
TensorFlow, no pytest) imports it by path to record the reference, and the tests import
it to replay the swapped script under keras_defer.

A chapter's script is what ``../shared/tools/d2l-cells CHAPTER.md`` prints: a preamble
(``warnings.filterwarnings('ignore')``) and, per cell, a marker line
``print('--- cell N')`` followed by the cell's code. Instead of running it in one go
(the first exception would end it), the runner executes each cell in turn in one shared
namespace, as a notebook does, captures its stdout, and when a cell raises, ends the
cell's output with one line ``!!! ErrorClass: message`` and goes on with the next cell.

The transcript (the reference files in expected/) is the cells' outputs, each after a
line ``--- cell N``, exactly what the plain script prints when no cell raises.

    python runner.py SCRIPT [--seed N] [--accept-data DIR]
                                            # prints the transcript (options: MXNet only)

--accept-data DIR: MXNet's dataset loaders check the sha1 of the real files and download
them when it differs (gluon.utils.download); the generated files under DIR stand in for
the real ones (tests/d2l_port/layout.py), so the check passes for files under DIR, and
only there.
"""

import builtins
import contextlib
import io
import re
import sys
import traceback
import warnings

MARKER = re.compile(r"^print\('--- cell (\d+)'\)\n", re.M)
HEADER = re.compile(r"^--- cell (\d+)\n", re.M)
ERROR_PREFIX = "!!! "


def swap(script):
    """The whole port, as ``d2l-cells --swap`` does it."""
    return re.sub(r"\bmxnet\b", "keras_defer", script)


def split_cells(script):
    """[(0, preamble), (1, code of cell 1), ...] from a d2l-cells script."""
    parts = MARKER.split(script)
    cells = [(0, parts[0])]
    for i in range(1, len(parts), 2):
        cells.append((int(parts[i]), parts[i + 1]))
    return cells


def error_line(exc):
    """One line naming the error: its class and the line of its message that says what
    went wrong. MXNet's C++ errors put a traceback first ('Traceback (most recent call
    last):', 'File "../src/...", line N') and the message on the last line, prefixed with
    'MXNetError: '; that line is kept, without the prefix."""
    name = type(exc).__name__
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if lines and lines[0].startswith("Traceback (most recent call last)"):
        lines = lines[-1:]
    message = lines[0] if lines else ""
    if message.startswith(name + ": "):
        message = message[len(name) + 2:]
    return "%s%s: %s" % (ERROR_PREFIX, name, message)


class Cell:
    """One executed cell: its number, code, what it printed (the error line included)
    and, when it raised, the formatted traceback (for reports; never compared)."""

    def __init__(self, n, code, output, error=None):
        self.n, self.code, self.output, self.error = n, code, output, error

    def __repr__(self):
        return "Cell(%d, %r)" % (self.n, self.output)


def run_cells(script, name="chapter"):
    """Execute the script's cells in one namespace; return [Cell] for cells 1..N."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    cells = []
    with warnings.catch_warnings():
        for n, code in split_cells(script):
            out = io.StringIO()
            error = None
            with contextlib.redirect_stdout(out):
                try:
                    exec(compile(code, "<%s cell %d>" % (name, n), "exec"), namespace)
                except Exception as exc:  # noqa: BLE001 - a cell's error is its output
                    print(error_line(exc))
                    error = traceback.format_exc()
            if n:
                cells.append(Cell(n, code, out.getvalue(), error))
    return cells


def transcript(cells):
    return "".join("--- cell %d\n%s" % (cell.n, cell.output) for cell in cells)


def parse_transcript(text):
    """{cell number: output} from a transcript."""
    parts = HEADER.split(text)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


def accept_generated_data(directory):
    """MXNet only: its sha1 check passes for the generated files under directory."""
    import os

    from mxnet.gluon import utils

    directory = os.path.abspath(directory) + os.sep
    check_sha1 = utils.check_sha1

    def check_sha1_or_generated(filename, sha1_hash):
        return (os.path.abspath(filename).startswith(directory)
                or check_sha1(filename, sha1_hash))

    utils.check_sha1 = check_sha1_or_generated


def main(argv):
    options = {}
    args = []
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg.startswith("--"):
            options[arg] = rest.pop(0)
        else:
            args.append(arg)
    path = args[0]
    if "--accept-data" in options:
        accept_generated_data(options["--accept-data"])
    if "--seed" in options:
        seed = int(options["--seed"])
        import random

        import mxnet as mx
        import numpy as np

        random.seed(seed)
        np.random.seed(seed)
        mx.random.seed(seed)
    with open(path, encoding="utf-8") as handle:
        script = handle.read()
    sys.stdout.write(transcript(run_cells(script, name=path)))


if __name__ == "__main__":
    main(sys.argv[1:])
