"""examples/lenet.py: deferred shapes resolve through Conv2D/MaxPool2D/Flatten/Dense,
and model.fit lowers the loss (a tiny run)."""

import os
import runpy

HERE = os.path.dirname(os.path.abspath(__file__))


def test_lenet_example_trains(capsys, fresh_names):
    module = runpy.run_path(os.path.join(HERE, "..", "examples", "lenet.py"))
    history = module["main"](["--epochs", "2", "--samples", "256"])
    out = capsys.readouterr().out
    assert "sequential0_conv0_weight     (6, 0, 3, 3)" in out
    assert "sequential0_conv0_weight     (6, 1, 3, 3)" in out
    assert "sequential0_dense0_weight    (64, 144)" in out
    assert "epoch 2: loss" in out
    assert history["loss"][-1] < history["loss"][0]
