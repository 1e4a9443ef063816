"""Replay the stored chapters under keras_defer and compare with MXNet's transcripts."""

import re

from keras_defer import naming

from . import chapters, runner


def swapped_script(name):
    """The stored MXNet script with mxnet replaced by keras_defer (d2l-cells --swap)."""
    with open(chapters.script_path(name), encoding="utf-8") as handle:
        return runner.swap(handle.read())


def expected_transcript(name):
    with open(chapters.expected_path(name), encoding="utf-8") as handle:
        return handle.read()


def run_chapter(name):
    """[runner.Cell] of the swapped chapter, run in this process with fresh names."""
    naming.reset_counters()
    return runner.run_cells(swapped_script(name), name=name)


def check_chapter(name):
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
    return "%-19s %2d/%2d cells match (exact %d/%d, structure %d/%d; of the cells that " \
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

