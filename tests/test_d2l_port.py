"""Acceptance test of the d2l port: every code cell of the ported chapters, with mxnet
replaced by keras_defer, prints what MXNet 1.9.1 printed, values aside where they are
random (tests/d2l_port/README.md: the chapters, the random cells, the normalisations).

The MXNet scripts and what MXNet printed are stored under tests/d2l_port/ (recorded by
tests/mxnet_reference/record_d2l.py), so these tests need neither MXNet nor ../shared.

    .venv/bin/python -m pytest tests/test_d2l_port.py            # pass/fail per chapter
    D2L_PORT_SUMMARY=1 .venv/bin/python -m pytest tests/test_d2l_port.py -q
                                             # plus one "n/m cells match" line per chapter
    .venv/bin/python -m tests.d2l_port -v    # progress table, a reason per failing cell
"""

import gzip
import os
import re
import struct
import subprocess
import sys

import keras
import pytest

from tests.d2l_port import chapters, layout, replay, runner

SUMMARY = os.environ.get("D2L_PORT_SUMMARY", "") not in ("", "0")


@pytest.mark.parametrize("name", list(chapters.CHAPTERS))
def test_chapter_prints_what_mxnet_prints(name, request):
    if name == "use-gpu" and replay.has_gpu():
        pytest.skip("use-gpu was recorded on MXNet's CPU build; this machine has a GPU")
    unsupported = chapters.BACKEND_UNSUPPORTED.get((keras.backend.backend(), name))
    results = replay.check_chapter(name)
    if unsupported:  # still refused there, as documented: say so when that changes
        assert not all(r.match for r in results), "%s now ports on %s: drop %r" % (
            name, keras.backend.backend(), unsupported)
        pytest.xfail(unsupported)
    if SUMMARY:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            seconds = replay.isolated_seconds(name)
            reporter.write_line("d2l port: " + replay.summary_line(name, results) + (
                " [%.1f s, %.1f s CPU]" % seconds if seconds else ""))
    if not all(r.match for r in results):
        pytest.fail(replay.chapter_report(name, results), pytrace=False)


# ---------------------------------------------------------------- the recorded material


def test_every_chapter_is_recorded():
    for name in chapters.CHAPTERS:
        with open(chapters.expected_path(name), encoding="utf-8") as handle:
            expected = runner.parse_transcript(handle.read())
        with open(chapters.script_path(name), encoding="utf-8") as handle:
            cells = runner.split_cells(handle.read())
        assert sorted(expected) == [n for n, _ in cells if n], name
        assert "keras_defer" not in "".join(code for _, code in cells), name


def test_random_cells_name_recorded_cells_with_a_reason():
    for (name, n), reason in chapters.RANDOM.items():
        with open(chapters.expected_path(name), encoding="utf-8") as handle:
            assert n in runner.parse_transcript(handle.read()), (name, n)
        assert reason.strip(), (name, n)
    for (name, n), (_, reason) in chapters.DIVERGENCES.items():
        assert name in chapters.CHAPTERS and reason.strip(), (name, n)


def test_swap_is_the_whole_port():
    script = "import mxnet as mx\nfrom mxnet.gluon import nn\nmxnet_like = 1\n"
    assert runner.swap(script) == (
        "import keras_defer as mx\nfrom keras_defer.gluon import nn\nmxnet_like = 1\n")


shared = pytest.mark.skipif(not os.path.exists(chapters.D2L_CELLS),
                            reason="../shared (d2l chapters, d2l-cells) is not beside this clone")


@shared
@pytest.mark.parametrize("name", list(chapters.CHAPTERS))
def test_stored_script_is_the_chapter(name):
    """The stored script is what d2l-cells makes of ../shared's chapter today (plus the
    documented repair), and its swap is what `d2l-cells --swap` prints."""
    with open(chapters.script_path(name), encoding="utf-8") as handle:
        stored = handle.read()
    assert stored == chapters.generate_script(name), (
        "../shared/d2l changed: re-record with tests/mxnet_reference/record_d2l.py")
    swapped = subprocess.run(
        [sys.executable, chapters.D2L_CELLS, chapters.chapter_source(name), "--swap"],
        check=True, capture_output=True, text=True).stdout
    # what the test runs is `d2l-cells --swap`'s script with the same repairs
    assert runner.swap(stored) == chapters.repair_script(swapped, name, swap=True), name
    repaired = dict(runner.split_cells(runner.swap(stored)))
    for n, tool_code in runner.split_cells(swapped):  # repaired cells only differ there
        code = repaired[n]
        assert (code == tool_code or code.replace("\n)\n", ")\n") == tool_code
                or "is not plain Python: skipped" in tool_code
                or re.sub(r"^_v = \((.*);\)\nif _v is not None: print\(_v\)$", r"\1;",
                          tool_code, flags=re.M | re.S) == code), (name, n)


# ------------------------------------------------------------------ read-write's files

MXNET_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mxnet_reference", "data")


def test_read_write_runs_in_a_scratch_directory(tmp_path, monkeypatch):
    """read-write saves x-file, x-files, mydict and mlp.params where it runs: none of
    them stays in the working directory of the test, which is given back as it was."""
    monkeypatch.chdir(tmp_path)
    cells = replay.run_chapter("read-write")
    assert [c.n for c in cells if c.error] == []
    assert os.getcwd() == str(tmp_path) and os.listdir(str(tmp_path)) == []


def _chapter_mlp():
    """A fresh instance of read-write's MLP (cell 5's class, swapped: the chapter's code)."""
    import ast

    code = dict(runner.split_cells(replay.swapped_script("read-write")))[5]
    (mlp,) = [node for node in ast.parse(code).body if isinstance(node, ast.ClassDef)]
    namespace = {}
    exec("from keras_defer.gluon import nn\n" + ast.get_source_segment(code, mlp), namespace)
    return namespace["MLP"]()


def test_mxnets_mlp_params_load_into_the_chapters_mlp():
    """read-write's mlp.params as MXNet 1.9.1 wrote it (cell 6), loaded with
    load_parameters into the chapter's MLP, gives what MXNet's net computed for the
    chapter's x (cell 5; recorded by record_d2l.py)."""
    import numpy as np

    from keras_defer import nd

    path = os.path.join(MXNET_DATA, "d2l_read_write_mlp.params")
    recorded = np.load(os.path.join(MXNET_DATA, "d2l_read_write_xy.npz"))
    saved = nd.load(path)
    assert sorted(saved) == ["hidden.bias", "hidden.weight", "output.bias", "output.weight"]
    assert saved["hidden.weight"].shape == (256, 20) and saved["output.weight"].shape == (10, 256)
    clone = _chapter_mlp()
    clone.load_parameters(path)
    np.testing.assert_array_equal(clone.hidden.weight.data().asnumpy(),
                                  saved["hidden.weight"].asnumpy())
    y = clone(nd.array(recorded["x"]))
    assert y.shape == (2, 10)
    np.testing.assert_allclose(y.asnumpy(), recorded["y"], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- runner and normaliser


def test_runner_goes_on_after_an_error_and_keeps_the_namespace():
    script = ("x = 1\nprint('--- cell 1')\nprint(x)\nprint('--- cell 2')\nprint('a')\n"
              "raise KeyError('k')\nprint('--- cell 3')\nx += 1\nprint(x)\n")
    cells = runner.run_cells(script)
    assert runner.transcript(cells) == (
        "--- cell 1\n1\n--- cell 2\na\n!!! KeyError: 'k'\n--- cell 3\n2\n")
    assert "KeyError" in cells[1].error


def test_mxnet_error_line_is_the_message_not_the_cpp_traceback():
    class MXNetError(RuntimeError):
        pass

    exc = MXNetError('Traceback (most recent call last):\n  File "../src/x.cc", line 81\n'
                     "MXNetError: Operator _ones is not implemented for GPU.")
    assert runner.error_line(exc) == "!!! MXNetError: Operator _ones is not implemented for GPU."
    assert chapters.normalise(runner.error_line(exc)) == "!!! MXNetError"
    assert chapters.normalise("!!! RuntimeError: Parameter 'w' has not been initialized") == (
        "!!! RuntimeError: Parameter 'w' has not been initialized")


def test_mxnet_is_renamed_in_what_mxnet_printed():
    text = "<class 'mxnet.ndarray.ndarray.NDArray'>\n"
    assert chapters.normalise(text, mxnet_side=True) == (
        "<class 'keras_defer.ndarray.ndarray.NDArray'>\n")


def test_ids_and_addresses_are_numbered_by_appearance():
    text = "id(z): 139771265595520\nid(z): 139771265595520\n<f at 0x7f3a> <g at 0x7f3b>\n"
    assert chapters.normalise(text) == "id(z): <id1>\nid(z): <id1>\n<f at <addr1>> <g at <addr2>>\n"
    assert chapters.normalise("id(z): 5\nid(z): 6\n") == "id(z): <id1>\nid(z): <id2>\n"


def test_structure_mask_keeps_layout_and_drops_values():
    mx_side = ("\n[[ 0.09543005  0.04614332 -0.00286653 -0.07790346 -0.05130242  0.02942038\n"
               "   0.08696645 -0.0190793  -0.04122178  0.05088577]\n"
               " [ 0.0769287   0.03099705  0.00856576 -0.04467198 -0.06926839  0.09132432\n"
               "   0.06786592 -0.06187844 -0.03436675  0.04234695]]\n<NDArray 2x10 @cpu(0)>\n")
    other = ("\n[[1.2e-01 3.4e-02 5.0e-01 1.0e+00 2.0e+00 3.0e+00 4.0e+00 5.0e+00 6.0e+00\n"
             "  7.0e+00]\n [1.0e+00 1.0e+00 1.0e+00 1.0e+00 1.0e+00 1.0e+00 1.0e+00\n"
             "  1.0e+00 1.0e+00 1.0e+00]]\n<NDArray 2x10 @cpu(0)>\n")
    want = "\n[[# # # # # # # # # #]\n [# # # # # # # # # #]]\n<NDArray 2x10 @cpu(0)>\n"
    assert chapters.mask_numbers(mx_side) == want
    assert chapters.mask_numbers(other) == want
    fewer = "\n[[# # # # # # # # #]\n [# # # # # # # # # #]]\n<NDArray 2x10 @cpu(0)>\n"
    assert chapters.mask_numbers(fewer) != want
    assert chapters.mask_numbers(other.replace("2x10", "2x9")) != want
    assert chapters.mask_numbers(
        "Init dense0_weight (256, 20)\n  Parameter dense0_weight (shape=(256, 20), "
        "dtype=float32)\n[-0. nan -inf 1e-05]\n<NDArray 4 @gpu(1)>\n") == (
        "Init dense0_weight (256, 20)\n Parameter dense0_weight (shape=(256, 20), "
        "dtype=float32)\n[# # # #]\n<NDArray 4 @gpu(1)>\n")


def test_a_random_cell_compares_structure_and_others_compare_bytes():
    assert ("ndarray", 6) in chapters.RANDOM and ("ndarray", 6) not in chapters.VALUE_CHECKS
    assert ("ndarray", 2) not in chapters.RANDOM
    expected = ("--- cell 2\n\n[1. 2.]\n<NDArray 2 @cpu(0)>\n"
                "--- cell 6\n\n[0.5 0.25]\n<NDArray 2 @cpu(0)>\n")
    cells = [runner.Cell(2, "", "\n[1. 2.]\n<NDArray 2 @cpu(0)>\n"),
             runner.Cell(6, "", "\n[0.125 0.75]\n<NDArray 2 @cpu(0)>\n")]
    by_n = {r.n: r for r in chapters.compare("ndarray", cells, expected)}
    assert by_n[6].match and by_n[6].mode == "structure"
    assert by_n[2].match and by_n[2].mode == "exact"
    cells[0].output = "\n[1. 2.0]\n<NDArray 2 @cpu(0)>\n"
    cells[1].output = "\n[0.125 0.75 0.5]\n<NDArray 3 @cpu(0)>\n"
    by_n = {r.n: r for r in chapters.compare("ndarray", cells, expected)}
    assert not by_n[2].match and not by_n[6].match
    assert "ndarray cell 2 (compared exact)" in replay.cell_report(by_n[2])
    missing = chapters.compare("ndarray", cells[:1], expected)[1]
    assert missing.n == 6 and not missing.match


def test_value_checks_hold_for_what_mxnet_printed():
    assert set(chapters.VALUE_CHECKS) <= set(chapters.RANDOM)
    for (name, n) in chapters.VALUE_CHECKS:
        with open(chapters.expected_path(name), encoding="utf-8") as handle:
            output = runner.parse_transcript(handle.read())[n]
        assert chapters.check_values(name, n, output) is None, (name, n)


def test_a_value_check_fails_a_matching_structure():
    expected = "--- cell 16\n\n[42. 7.5 1.]\n<NDArray 3 @cpu(0)>\n"
    cells = [runner.Cell(16, "", "\n[0.5 7.5 1.]\n<NDArray 3 @cpu(0)>\n")]
    saved = chapters.VALUE_CHECKS[("parameters", 16)]
    try:
        chapters.VALUE_CHECKS[("parameters", 16)] = ("first is 42", lambda v: v[0] == 42)
        (result,) = chapters.compare("parameters", cells, expected)
        assert result.got == result.want and not result.match
        assert "first is 42" in result.value_problem
        assert chapters.masked_values("Init w (2, 3)\n[-0. 1e-05 nan]\n<NDArray 3 @cpu(0)>")[:2] \
            == [0.0, 1e-05]
    finally:
        chapters.VALUE_CHECKS[("parameters", 16)] = saved


# ------------------------------------------------------------ the laid-out chapters' data


def test_generated_fashion_mnist_is_in_the_idx_format(tmp_path):
    layout.write_fashion_mnist(str(tmp_path))
    for part, count in layout.FASHION_MNIST_SIZES.items():
        with gzip.open(str(tmp_path / (part + "-images-idx3-ubyte.gz")), "rb") as handle:
            assert struct.unpack(">IIII", handle.read(16)) == (2051, count, 28, 28)
            assert len(handle.read()) == count * 28 * 28
        with gzip.open(str(tmp_path / (part + "-labels-idx1-ubyte.gz")), "rb") as handle:
            assert struct.unpack(">II", handle.read(8)) == (2049, count)
            labels = handle.read()
            assert len(labels) == count and set(labels) == set(range(10))


def test_generated_kaggle_files_have_the_real_shapes_and_columns(tmp_path):
    import csv

    layout.write_kaggle(str(tmp_path))
    for part, rows, columns in (("train", 1460, 81), ("test", 1459, 80)):
        with open(str(tmp_path / ("kaggle_house_pred_%s.csv" % part)), newline="") as handle:
            table = list(csv.reader(handle))
        assert len(table) == rows + 1 and {len(r) for r in table} == {columns}
        assert table[0][:3] == ["Id", "MSSubClass", "MSZoning"]
        assert table[0][-1] == ("SalePrice" if part == "train" else "SaleCondition")
        text_columns = [i for i in range(columns)
                        if any(not re.fullmatch(r"-?\d+(\.\d+)?|NA", r[i]) for r in table[1:])]
        assert len(text_columns) == 43, part


def test_d2l_package_is_mxnets_and_has_what_the_chapters_call():
    import ast

    with open(os.path.join(layout.D2L_PACKAGE, "utils.py"), encoding="utf-8") as handle:
        source = handle.read()
    assert "import mxnet as mx" in source and "keras_defer" not in source
    tree = ast.parse(source)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    defined |= {alias.asname or alias.name for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    called = set()
    for name in chapters.BASICS:
        with open(chapters.script_path(name), encoding="utf-8") as handle:
            called |= set(re.findall(r"\bd2l\.(\w+)", handle.read()))
    assert called and called <= defined, called - defined


def test_scale_changes_only_its_epoch_counts():
    for name, substitutions in chapters.SCALE.items():
        with open(chapters.script_path(name), encoding="utf-8") as handle:
            stored = handle.read()
        assert chapters.runnable_script(stored, name, full=True) == stored
        scaled = chapters.runnable_script(stored, name, full=False)
        assert scaled != stored and "epoch" in "".join(new for _, new in substitutions)
    with pytest.raises(ValueError, match="SCALE"):
        chapters.runnable_script("print(1)\n", "weight-decay", full=False)


def test_magic_lines_and_silenced_expressions_are_repaired():
    assert chapters._MAGIC.sub("", "import sys\n%matplotlib inline\n  !pip x\nimport d2l\n") \
        == "import sys\nimport d2l\n"
    cell = "_v = (plt.scatter(a,\n b, 1);)\nif _v is not None: print(_v)"
    assert chapters._SILENCED.sub(lambda m: m.group(1) + ";", cell) == "plt.scatter(a,\n b, 1);"
    with open(chapters.script_path("mlp-scratch"), encoding="utf-8") as handle:
        first = dict(runner.split_cells(handle.read()))[1]
    assert "import d2l" in first and "%matplotlib" not in first


def test_numpy_2_scalar_reprs_read_as_numpy_1():
    assert chapters.normalise("(np.int32(5), <class 'numpy.int32'>, dtype('int32'))") == (
        "(5, <class 'numpy.int32'>, dtype('int32'))")
    assert chapters.normalise("(np.float32(0.5), np.True_)") == "(0.5, True)"
