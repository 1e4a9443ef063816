"""The chapter, with only its imports changed, prints what the original printed."""

import contextlib
import io
import os
import re
import runpy

from keras_defer import naming

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "deferred_init.py")
EXPECTED = os.path.join(ROOT, "tests", "data", "chapter_expected_output.txt")
RENDERED = os.path.join(ROOT, "..", "shared", "chapter", "deferred-init.rendered.txt")


def run_example():
    naming.reset_counters()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(EXAMPLE, run_name="__main__")
    return out.getvalue()


def expected_cell_outputs():
    """The outputs of the chapter's cells, in order: the four parameter tables and
    bound-method repr of cells 2-4, then the Init lines of cells 6, 8 and 9."""
    with open(EXPECTED) as handle:
        return handle.read()


def test_example_prints_the_chapter_outputs():
    assert run_example() == expected_cell_outputs()


def test_example_only_changes_the_imports():
    with open(EXAMPLE) as handle:
        source = handle.read()
    assert "from keras_defer import init, nd\nfrom keras_defer.gluon import nn\n" in source
    assert "mxnet" not in source.replace("from mxnet to keras_defer", "")


def test_expected_output_is_the_rendered_chapter():
    """Each output block we expect appears verbatim in the rendered chapter."""
    if not os.path.exists(RENDERED):  # shared/ sits beside the clone in CI
        import pytest

        pytest.skip("../shared/chapter is not beside this checkout")
    with open(RENDERED, encoding="utf-8") as handle:
        rendered = handle.read()
    expected = expected_cell_outputs()
    bound = expected[: expected.index(")>\n") + 3]
    assert bound.startswith("<bound method Block.collect_params of Sequential(")
    assert bound in rendered
    tables = re.findall(r"sequential0_ \(\n(?:  .*\n)*\)\n", expected)
    assert len(tables) == 3  # cells 2, 3 and 4
    for table in tables:
        assert table in rendered
    init_lines = [line for line in expected.splitlines() if line.startswith("Init ")]
    assert init_lines == [
        line for line in rendered.splitlines() if line.startswith("Init ")
    ]
