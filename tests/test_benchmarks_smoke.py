"""The benchmark runs end to end in --quick mode and reports every figure of the ratio table.

No timing is asserted here: the machine is shared, and the numbers of a quick run
are not comparable anyway. This only guards the table's shape.
"""

import json
import os
import subprocess
import sys

import keras
import pytest

if keras.backend.backend() != "tensorflow":
    pytest.skip("the benchmarks compare keras_defer with hand-written TensorFlow code, so "
                "they need the TensorFlow backend (KERAS_BACKEND=%s)"
                % keras.backend.backend(), allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ROW_IDS = {
    "eager_forward", "ndarray_forward", "ndarray_ops", "hybridized_forward", "autograd_step",
    "first_call",
    "deep_first_call", "depth_scaling", "large_mlp", "lenet_fit", "params_collect_params",
    "params_initialize", "peak_memory", "training_step", "dataloader_epoch",
}
OPTIONAL_ROW_IDS = {"training_step_torch"}  # only where .venv-torch is beside the checkout


@pytest.fixture(scope="module")
def quick_report():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout[proc.stdout.index("{"):])


def test_every_figure_has_a_row(quick_report):
    ids = {r["id"] for r in quick_report["rows"]}
    assert ROW_IDS <= ids <= ROW_IDS | OPTIONAL_ROW_IDS, sorted(ids ^ ROW_IDS)


def test_rows_are_complete(quick_report):
    for r in quick_report["rows"]:
        assert r["values"]["keras_defer"] is not None, r["id"]
        assert r["ratio"] is not None and r["ratio"] > 0, r["id"]
        assert r["target"].split()[0] in ("<=", ">="), r["id"]
        assert r["met"] in (True, False), r["id"]


def test_machine_is_recorded(quick_report):
    assert quick_report["machine"]["cores"] >= 1
    assert quick_report["quick"] is True


def test_table_renders():
    from benchmarks.run import table

    rows = [{"id": "x", "figure": "f", "unit": "ms", "values": {"keras_defer": 1.0},
             "ratio": 0.5, "ratio_of": "a / b", "target": "<= 1", "met": True, "note": "n"}]
    text = table(rows)
    assert text.count("\n| f |") == 1 and "- x: n" in text
