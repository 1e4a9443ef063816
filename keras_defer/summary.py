"""Gluon's ``Block.summary(*inputs)``: MXNet 1.9.1's table, byte for byte.

It registers a forward hook on every block but (Hybrid)Sequential containers, runs one
forward pass with ``inputs`` (which, as in MXNet, finishes deferred initialization),
and prints one row per block call, in the order the calls end (children before their
parent; a block called twice gets two rows, its parameters counted as shared the
second time), then the totals. The hooks are removed whatever happens. A hybridized
block refuses with MXNet's AssertionError, before anything runs.

MXNet's table has rows that come from how MXNet finishes deferred initialization: a
HybridBlock whose own parameters are still deferred when it is called first runs its
``hybrid_forward`` on Symbols to infer their shapes, and the blocks that calls (a
``Dense``'s or a convolution's activation) fire their hooks with a Symbol, printed
``<Symbol dense0_relu_fwd>``, before the real call's row. keras_defer infers shapes
without such a trace, so the summary adds those rows itself (``_symbolic_rows``), for
each block whose parameters were deferred when the summary started and that no block
called before it has initialized, as MXNet would.

(``Block.summary()`` without inputs on a ``Sequential``, which is a ``keras.Model``,
is Keras's summary: ``keras_defer.block.Block.summary`` chooses.)
"""

from collections import OrderedDict

import numpy as np

from keras_defer import backend

__all__ = ["print_summary"]


def _shape(value):
    shape = getattr(value, "shape", None)
    if shape is None or not (backend.is_tensor(value) or hasattr(value, "asnumpy")
                             or isinstance(value, np.ndarray)):
        return value
    return tuple(int(d) for d in shape)


def _shape_str(args):
    """MXNet's ``_get_shape_str``: the shapes of ``args`` (nested lists and tuples
    kept), ``str`` of a single shape or of the list of shapes without its brackets."""

    def flatten(args):
        if not isinstance(args, (list, tuple)):
            return [args], int(0)
        flat, fmts = [], []
        for i in args:
            arg, fmt = flatten(i)
            flat.extend(arg)
            fmts.append(fmt)
        return flat, fmts

    def regroup(args, fmt):
        if isinstance(fmt, int):
            if fmt == 0:
                return args[0], args[1:]
            return args[:fmt], args[fmt:]
        ret = []
        for i in fmt:
            res, args = regroup(args, i)
            ret.append(res)
        return ret, args

    flat_args, fmts = flatten(args)
    shapes = regroup([_shape(x) for x in flat_args], fmts)[0]
    shape_str = str(shapes)[1:-1] if isinstance(shapes, list) else str(shapes)
    return shape_str.replace("L", "")


def _size(param):
    param.data()  # raises as MXNet's does for a parameter the pass left uninitialized
    return int(np.prod(param.shape))


def _symbol_name(block):
    """The name of the Symbol MXNet's trace of ``block`` ends with."""
    act = block._children.get("act")
    return "<Symbol %s_fwd>" % (act.name if act is not None else block.name)


def print_summary(block, *inputs):
    """Print MXNet's summary table of ``block`` run on ``inputs``."""
    from keras_defer.block import HybridBlock
    from keras_defer.nn.basic_layers import HybridSequential, Sequential

    containers = (Sequential, HybridSequential)
    summary = OrderedDict()
    seen = set()
    handles = []
    # MXNet's deferred-initialization trace (module docstring): which parameters were
    # deferred when the summary started, and which a call has reached since
    deferred = {id(p) for p in block.collect_params().values() if p.variable is None}
    reached = set()

    def add_row(block, output_shape, sized):
        key = "%s-%i" % (type(block).__name__, len(summary))
        row = summary[key] = OrderedDict()
        row["output_shape"] = output_shape
        params = row["trainable"] = row["shared"] = 0
        for p in block.params.values():
            size = sized(p)
            params += size
            row["trainable"] += 0 if p.grad_req == "null" else size
            if id(p) in seen:
                row["shared"] += size
            else:
                seen.add(id(p))
        row["n_params"] = params

    def summary_hook(block, _, outputs):
        add_row(block, _shape_str(outputs), _size)

    def symbolic_rows(child):
        for grandchild in child._children.values():
            symbolic_rows(grandchild)
        if not isinstance(child, containers):
            add_row(child, _symbol_name(child), lambda p: int(np.prod(p.shape)))

    def trace_hook(block, _):
        params = [p for p in block._reg_params.values() if p is not None]
        traced = any(id(p) in deferred and id(p) not in reached for p in params)
        reached.update(id(p) for p in block.params.values())
        if traced and isinstance(block, HybridBlock):
            for child in block._children.values():
                symbolic_rows(child)

    def register(child):
        if isinstance(child, HybridBlock) and child.__dict__.get("_active"):
            raise AssertionError(  # MXNet's assert, also under python -O
                '"{}" must not be hybridized to print summary.'.format(child.name))
        if not isinstance(child, containers):
            if child._reg_params:
                handles.append(child.register_forward_pre_hook(trace_hook))
            handles.append(child.register_forward_hook(summary_hook))

    summary["Input"] = OrderedDict(output_shape=_shape_str(inputs), n_params=0,
                                   trainable=0, shared=0)
    try:
        block.apply(register)
        block(*inputs)

        line_format = "{:>20}  {:>42} {:>15}"
        print("-" * 80)
        print(line_format.format("Layer (type)", "Output Shape", "Param #"))
        print("=" * 80)
        total_params = trainable_params = shared_params = 0
        for layer, row in summary.items():
            print(line_format.format(layer, str(row["output_shape"]), row["n_params"]))
            total_params += row["n_params"]
            trainable_params += row["trainable"]
            shared_params += row["shared"]
        print("=" * 80)
        print("Parameters in forward computation graph, duplicate included")
        print("   Total params: " + str(total_params))
        print("   Trainable params: " + str(trainable_params))
        print("   Non-trainable params: " + str(total_params - trainable_params))
        print("Shared params in forward computation graph: " + str(shared_params))
        print("Unique parameters in model: " + str(total_params - shared_params))
        print("-" * 80)
    finally:
        for handle in handles:
            handle.detach()
