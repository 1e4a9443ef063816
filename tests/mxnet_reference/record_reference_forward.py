"""Record MXNet 1.9.1's outputs for the kit's numpy reference forward
(conformance/reference_forward.py, tested by conformance/test_reference_forward.py).

Every case is one leaf block of the kit's architectures (conformance/arch, built from its
own constructor source), random weights set with set_data, a random input: MXNet's output,
and for BatchNorm in training its output under record() and its running statistics after
the forward pass and after backward (MXNet moves them in the backward pass).

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv)
    PYTHONPATH=. $PY tests/mxnet_reference/record_reference_forward.py
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import autograd, nd  # noqa: E402
from mxnet.gluon import nn, rnn  # noqa: E402

from conformance import arch as A  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "reference_forward")


def cases():
    """(case name, arch node, input shape, integer bound or 0, training)."""
    out = []
    for act in (None, "relu", "tanh", "sigmoid"):
        out.append(("dense_%s" % act, A.Dense(3, activation=act), (2, 2, 3), 0, False))
    out.append(("dense_noflat_nobias", A.Dense(4, use_bias=False, flatten=False), (2, 3, 5), 0,
                False))
    for dims in (1, 2, 3):
        sp = {1: (7,), 2: (5, 6), 3: (4, 3, 5)}[dims]
        out.append(("conv%dd" % dims, A.Conv(dims, 3, 2), (2, 2) + sp, 0, False))
        out.append(("conv%dd_s2p1_relu" % dims,
                    A.Conv(dims, 2, 3, strides=2, padding=1, activation="relu"),
                    (2, 3) + sp, 0, False))
        out.append(("conv%dd_nobias" % dims, A.Conv(dims, 2, 1, use_bias=False), (1, 2) + sp,
                    0, False))
        out.append(("conv%dd_transpose" % dims, A.Conv(dims, 2, 2, transpose=True),
                    (2, 3) + sp, 0, False))
        out.append(("conv%dd_transpose_s2p1" % dims,
                    A.Conv(dims, 3, 3, strides=2, padding=1, transpose=True, activation="tanh"),
                    (2, 2) + sp, 0, False))
        last = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[dims]
        for kind in ("max", "avg"):
            for layout in ("", last):
                shape = (2,) + sp + (3,) if layout else (2, 3) + sp
                out.append(("pool%dd_%s_%s" % (dims, kind, layout or "first"),
                            A.Pool(dims, kind, 2, layout=layout), shape, 0, False))
                out.append(("globalpool%dd_%s_%s" % (dims, kind, layout or "first"),
                            A.Pool(dims, kind, global_pool=True, layout=layout), shape, 0, False))
    for shape in ((4, 3), (2, 3, 4), (2, 3, 2, 3)):
        tag = "x".join(map(str, shape))
        out.append(("batchnorm_%s" % tag, A.Norm("batch", in_channels=3), shape, 0, False))
        out.append(("batchnorm_train_%s" % tag, A.Norm("batch", in_channels=3), shape, 0, True))
        out.append(("layernorm_%s" % tag, A.Norm("layer", in_channels=shape[-1]), shape, 0,
                    False))
    for scale in (False, True):
        out.append(("instancenorm_%s" % scale, A.Norm("instance", in_channels=3, scale=scale),
                    (2, 3, 5), 0, False))
        out.append(("instancenorm3d_%s" % scale, A.Norm("instance", in_channels=2, scale=scale),
                    (2, 2, 3, 3, 2), 0, False))
    out.append(("embedding", A.Embedding(6, 4), (3, 5), 6, False))
    for mode in ("rnn", "lstm", "gru"):
        for layout in ("TNC", "NTC"):
            out.append(("%s_%s" % (mode, layout), A.Recurrent(mode, 3, layout=layout),
                        (4, 2, 5), 0, False))
            out.append(("%s_%s_bi2" % (mode, layout),
                        A.Recurrent(mode, 2, num_layers=2, bidirectional=True, layout=layout),
                        (3, 2, 4), 0, False))
    for act in ("relu", "tanh", "sigmoid", "softrelu", "softsign"):
        out.append(("activation_%s" % act, A.Activation(act), (2, 3, 4), 0, False))
    for fn in ("relu", "tanh", "sigmoid"):
        out.append(("lambda_%s" % fn, A.Lambda(fn), (2, 5), 0, False))
    out.append(("flatten", A.Flatten(), (2, 3, 2, 2), 0, False))
    out.append(("dropout_inference", A.Dropout(0.5), (3, 4), 0, False))
    return out


def main():
    rng = np.random.RandomState(0)
    mx.random.seed(0)
    arrays, meta = {}, {}
    for name, node, shape, high, training in cases():
        block = eval(node.source({}), {"nn": nn, "rnn": rnn})  # noqa: S307 - our own source
        block.initialize()
        x = (rng.randint(0, high, size=shape) if high else rng.uniform(-1, 1, size=shape))
        x = x.astype("float32")
        xs = nd.array(x)
        if not training:
            block(xs)  # the first pass infers the shapes
        params = {}
        for full, p in block.collect_params().items():
            attr = full[len(block.prefix):]
            if training and node.kind == "batch" and attr.startswith("running"):
                values = rng.uniform(0.5, 1.5, size=p.shape) if attr.endswith("var") else \
                    rng.uniform(-0.5, 0.5, size=p.shape)
            elif attr == "running_var":
                values = rng.uniform(0.5, 1.5, size=p.shape)
            else:
                if 0 in p.shape:
                    block(xs)
                values = rng.uniform(-1, 1, size=p.shape)
            values = values.astype("float32")
            p.set_data(nd.array(values))
            params[attr] = values
        entry = {"node": repr(node), "training": training, "params": sorted(params)}
        for attr, values in params.items():
            arrays["%s/param/%s" % (name, attr)] = values
        arrays["%s/input" % name] = x
        if training:
            with autograd.record():
                y = block(xs)
            arrays["%s/output" % name] = y.asnumpy()
            arrays["%s/after_forward/running_mean" % name] = block.running_mean.data().asnumpy()
            arrays["%s/after_forward/running_var" % name] = block.running_var.data().asnumpy()
            y.backward()
            arrays["%s/after_backward/running_mean" % name] = block.running_mean.data().asnumpy()
            arrays["%s/after_backward/running_var" % name] = block.running_var.data().asnumpy()
        else:
            arrays["%s/output" % name] = block(xs).asnumpy()
        meta[name] = entry
    np.savez_compressed(OUT + ".npz", **arrays)
    with open(OUT + ".json", "w") as handle:
        json.dump({"mxnet": mx.__version__, "numpy": np.__version__, "cases": meta}, handle,
                  indent=1, sort_keys=True)
    print("wrote", OUT + ".json/.npz", len(meta), "cases")


if __name__ == "__main__":
    main()
