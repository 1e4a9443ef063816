"""Record MXNet 1.9.1's exported symbol JSON for model-zoo nets (random weights; only
the graph text is kept, gzipped), the ground truth for tests/test_export.py.

Run in the MXNet side environment, from the repository root:
    PY=$(../shared/tools/mxnet-venv) && $PY tests/mxnet_reference/record_symbol_model_zoo.py
"""

import gzip
import json
import os
import tempfile

import mxnet as mx
from mxnet.gluon.model_zoo import vision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                   "symbol_model_zoo.json.gz")

#: net -> input side: the smallest the net's pooling accepts (the graph does not
#: depend on it: every deferred shape is exported as 0)
NETS = {"resnet18_v1": 32, "resnet18_v2": 32, "resnet50_v1": 32, "resnet50_v2": 32,
        "mobilenet0.25": 32, "mobilenetv2_0.25": 32, "alexnet": 224, "squeezenet1.0": 224,
        "squeezenet1.1": 224, "densenet121": 224, "vgg11_bn": 32, "inceptionv3": 299}


def main():
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, side in NETS.items():
            with mx.name.NameManager():
                net = vision.get_model(name)
                net.initialize()
                net.hybridize()
                net(mx.nd.ones((1, 3, side, side)))
                path = os.path.join(folder, name)
                net.export(path)
            with open(path + "-symbol.json") as f:
                out[name] = {"side": side, "json": f.read()}
    with gzip.open(OUT, "wt") as f:
        json.dump(out, f)
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
