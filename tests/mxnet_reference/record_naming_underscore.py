"""Record how MXNet 1.9.1 names blocks whose class name starts with an underscore.

Run in the MXNet side environment, from the repository root:
    /root/.cache/mxnet-1.9.1/bin/python tests/mxnet_reference/record_naming_underscore.py

Writes tests/mxnet_reference/data/naming_underscore.json, read by
tests/test_naming_underscore.py without MXNet.
"""

import json
import os

import mxnet as mx
from mxnet import gluon, nd
from mxnet.gluon import nn

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class _ScaledL1(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dense = nn.Dense(2)

    def hybrid_forward(self, F, x):
        return F.abs(self.dense(x))


class __Twice(gluon.HybridBlock):
    def hybrid_forward(self, F, x):
        return x * 2


def describe(block):
    return {"name": block.name, "prefix": block.prefix,
            "params": sorted(block.collect_params().keys())}


def main():
    first, second, twice = _ScaledL1(), _ScaledL1(), __Twice()
    with first.name_scope():
        inner = _ScaledL1()
    prefixed = __Twice(prefix="a/b_")
    out = {"first": describe(first), "second": describe(second),
           "dunder": describe(twice), "nested": describe(inner),
           "slash_prefix": describe(prefixed)}
    first.initialize()
    first.hybridize()
    out["hybridized_shapes"] = [list(first(nd.ones((n, 3))).shape) for n in (2, 5)]
    with open(os.path.join(DATA, "naming_underscore.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    mx.random.seed(0)
    main()
