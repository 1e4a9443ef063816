"""Replay the stored chapters under keras_defer and compare with MXNet's transcripts."""

import json
import os
import re
import subprocess
import sys
import tempfile

from keras_defer import naming

from . import chapters, layout, runner

# Seconds the process that runs the laid-out chapters may take (all of them together).
ISOLATED_TIMEOUT = float(os.environ.get("D2L_PORT_TIMEOUT", "900"))
_isolated_runs = {}  # chapter -> (cells or None, what went wrong, seconds)


def swapped_script(name):
    """The stored MXNet script with mxnet replaced by keras_defer (d2l-cells --swap)."""
    with open(chapters.script_path(name), encoding="utf-8") as handle:
        return runner.swap(handle.read())


def expected_transcript(name):
    with open(chapters.expected_path(name), encoding="utf-8") as handle:
        return handle.read()


def run_chapter(name):
    """[runner.Cell] of the swapped chapter, run in this process with fresh names in a
    fresh working directory (chapters.scratch_directory)."""
    naming.reset_counters()
    with chapters.scratch_directory(name):  # read-write writes files where it runs
        return runner.run_cells(swapped_script(name), name=name)


def run_isolated(names):
    """Run the laid-out chapters among names (chapters.ISOLATED) in one keras_defer
    process (isolated.py) on a fresh layout; remember each one's cells, or why none came
    back (the process crashed or ran out of time: its last lines)."""
    names = [n for n in names if n in chapters.ISOLATED and n not in _isolated_runs]
    if not names:
        return
    import keras

    with tempfile.TemporaryDirectory(prefix="d2l_port_") as root:
        layout.make(root, transform=runner.swap)
        out = os.path.join(root, "cells.jsonl")
        env = layout.environment(root)
        env["KERAS_BACKEND"] = keras.backend.backend()
        env["PYTHONPATH"] = os.pathsep.join(
            [chapters.ROOT] + [p for p in [env.get("PYTHONPATH")] if p])
        problem = None
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tests.d2l_port.isolated", root, out] + names,
                cwd=chapters.ROOT, env=env, capture_output=True, text=True,
                timeout=ISOLATED_TIMEOUT)
            if done.returncode:
                problem = "the chapters' process exited with status %d:\n%s" % (
                    done.returncode, done.stderr[-3000:])
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr
            problem = "the chapters' process ran past D2L_PORT_TIMEOUT=%gs:\n%s" % (
                ISOLATED_TIMEOUT, (stderr or "")[-3000:])
        records = {}
        if os.path.exists(out):
            with open(out, encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    records[record["chapter"]] = record
    for name in names:
        record = records.get(name)
        if record is None:
            _isolated_runs[name] = (None, problem or "no cells came back", None)
        else:
            cells = [runner.Cell(c["n"], c["code"], c["output"], c["error"])
                     for c in record["cells"]]
            _isolated_runs[name] = (cells, None, (record["seconds"], record["cpu_seconds"]))


def isolated_seconds(name):
    return _isolated_runs.get(name, (None, None, None))[2]


def check_chapter(name):
    if name in chapters.ISOLATED:
        run_isolated([name] if _isolated_runs else list(chapters.ISOLATED))
        cells, problem, _ = _isolated_runs[name]
        if cells is None:
            results = chapters.compare(name, [], expected_transcript(name))
            for result in results:
                result.error = problem
            return results
        return chapters.compare(name, cells, expected_transcript(name))
    return chapters.compare(name, run_chapter(name), expected_transcript(name))


def has_gpu():
    """The reference was recorded on MXNet's CPU build: use-gpu only compares without GPUs."""
    import keras_defer

    try:
        return keras_defer.num_gpus() > 0
    except Exception:  # noqa: BLE001 - no way to tell: assume a CPU machine
        return False


def summary_line(name, results):
    exact = [r for r in results if not r.random]
    structure = [r for r in results if r.random]
    printing = [r for r in results if r.expected]
    failing = [r.n for r in results if not r.match]
    return "%-26s %2d/%2d cells match (exact %d/%d, structure %d/%d; of the cells that " \
        "print, %d/%d)%s" % (
        name, sum(r.match for r in results), len(results),
        sum(r.match for r in exact), len(exact),
        sum(r.match for r in structure), len(structure),
        sum(r.match for r in printing), len(printing),
        "; failing: " + " ".join(map(str, failing)) if failing else "")


def _indent(text, missing="(nothing: the cell was not run)"):
    if text is None:
        return "    " + missing + "\n"
    if text == "":
        return "    (prints nothing)\n"
    return "".join("    " + line + "\n" for line in text.rstrip("\n").split("\n"))


def cell_report(result, traceback=True):
    """The cell, both outputs and a diff of what is compared, readably."""
    import difflib

    head = "%s cell %d (compared %s%s)" % (
        result.chapter, result.n, result.mode,
        ": " + chapters.RANDOM[(result.chapter, result.n)] if result.random else "")
    parts = [head, "  code (swapped):", _indent(result.code.strip("\n")),
             "  MXNet 1.9.1 printed:", _indent(result.expected),
             "  keras_defer printed:", _indent(result.actual)]
    diff = difflib.unified_diff(
        result.want.splitlines(), result.got.splitlines(), "mxnet (normalised)",
        "keras_defer (normalised)", lineterm="", n=2)
    parts += ["  diff of the compared text:", _indent("\n".join(diff) or "(none)")]
    if result.value_problem:
        parts += ["  value check failed:", _indent(result.value_problem)]
    if traceback and result.error:
        parts += ["  keras_defer traceback:", _indent(result.error)]
    return "\n".join(parts)


def chapter_report(name, results):
    failing = [r for r in results if not r.match]
    lines = [summary_line(name, results)]
    if failing:
        lines += ["", "first difference: " + cell_report(failing[0])]
        if len(failing) > 1:
            lines += ["other failing cells: %s" % ", ".join(
                "%d (%s)" % (r.n, first_line(r)) for r in failing[1:])]
    return "\n".join(lines)


def _keras_wrapped(error):
    """Keras re-raises an error from call() as 'Exception encountered when calling X.call().'
    with the original message on a later line: that line, for the one-line reasons."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in (error or "").splitlines()]
    for i, line in enumerate(lines):
        if "Exception encountered when calling" in line:
            inner = next((rest for rest in lines[i + 1:] if rest), "")
            return " [" + inner + "]" if inner else ""
    return ""


def first_line(result):
    """A short reason: the keras_defer error, else the first differing line."""
    if result.actual is None:
        if result.error:  # the laid-out chapters' process died first
            return ("not run: " + result.error.strip().splitlines()[0])[:160]
        return "not run"
    for line in result.actual.splitlines():
        if line.startswith(runner.ERROR_PREFIX):
            return (line[len(runner.ERROR_PREFIX):] + _keras_wrapped(result.error))[:160]
    if result.value_problem:
        return ("value check: " + result.value_problem)[:160]
    want, got = result.want.splitlines(), result.got.splitlines()
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "<end>"
        g = got[i] if i < len(got) else "<end>"
        if w != g:
            return ("printed %r, MXNet %r" % (g, w))[:100]
    return "differs"

