"""``keras_defer.lr_scheduler`` against MXNet 1.9.1's recorded sequences: the same
Python floats, the same log lines, the same errors."""

import json
import logging
import os

import pytest

import keras_defer as mx
from tests.mxnet_reference import scheduler_cases

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "mxnet_reference", "data", "optimizer.json")) as handle:
    RECORDED = json.load(handle)["schedulers"]


@pytest.mark.parametrize("name", sorted(scheduler_cases.CASES))
def test_sequence_logs_and_errors_match_mxnet(name, caplog):
    cls, kwargs, nums = scheduler_cases.CASES[name]
    expected = RECORDED[name]
    if "error" in expected:
        kind, text = expected["error"]
        with pytest.raises({"ValueError": ValueError,
                            "AssertionError": AssertionError}[kind]) as info:
            getattr(mx.lr_scheduler, cls)(**kwargs)
        if kind != "AssertionError":  # (pytest may rewrite a bare assert's text)
            assert str(info.value) == text
        return
    with caplog.at_level(logging.INFO):
        scheduler = getattr(mx.lr_scheduler, cls)(**kwargs)
        lrs = [scheduler(n) for n in nums]
    assert lrs == expected["lrs"]  # exactly: the same float arithmetic
    log = ["%s|%s" % (r.levelname, r.getMessage()) for r in caplog.records
           if r.name == "root"]
    assert log == expected["log"]


def test_base_class_and_optimizer_use():
    with pytest.raises(NotImplementedError, match="must override this"):
        mx.lr_scheduler.LRScheduler()(3)
    scheduler = mx.lr_scheduler.MultiFactorScheduler([2, 4], factor=0.5, base_lr=1.0)
    opt = mx.optimizer.SGD(lr_scheduler=scheduler)
    opt.num_update = 5
    assert opt.learning_rate == 0.25 and opt._get_lr(0) == 0.25
