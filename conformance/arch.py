"""Architectures as plain data: what a user writes, before any framework sees it.

A tree of `Sequential` nodes whose leaves are layers or `Reuse` (the same Dense object
added a second time).  Layers: `Dense`, `Conv` (Conv1D/2D/3D and their Transpose),
`Pool` (Max/Avg/GlobalMax/GlobalAvg 1D-3D), `Flatten`, `Dropout`, `Activation`,
`Lambda` (Lambda/HybridLambda of an `nd` function name), `Norm` (BatchNorm, LayerNorm,
InstanceNorm), `Embedding` and `Recurrent` (rnn.RNN/LSTM/GRU).  Dense layers are numbered
in creation order (depth-first, pre-order), which is the order the builder creates them
in; `Dense.share` and `Reuse.ref` point back to such a number.

`Input` describes the input a net with a non-Dense first stage was designed for (its
non-batch dims, which axis carries the channels/features, integer indices for Embedding).
"""

from dataclasses import dataclass, field
from typing import Optional, Tuple


@dataclass(frozen=True)
class Dense:
    units: int
    activation: Optional[str] = None
    use_bias: bool = True
    flatten: bool = True
    in_units: int = 0
    weight_initializer: Optional[str] = None   # None (the global one) | 'ones' | 'zeros'
    bias_initializer: Optional[str] = "zeros"  # 'zeros' | 'ones' | None (the global one)
    prefix: Optional[str] = None
    share: Optional[int] = None                # params=<earlier Dense>.params

    def source(self, refs):
        args = [repr(self.units)]
        if self.activation:
            args.append("activation=%r" % self.activation)
        if not self.use_bias:
            args.append("use_bias=False")
        if not self.flatten:
            args.append("flatten=False")
        if self.in_units:
            args.append("in_units=%d" % self.in_units)
        if self.weight_initializer is not None:
            args.append("weight_initializer=%r" % self.weight_initializer)
        if self.bias_initializer != "zeros":
            args.append("bias_initializer=%r" % self.bias_initializer)
        if self.prefix is not None:
            args.append("prefix=%r" % self.prefix)
        if self.share is not None:
            args.append("params=%s.params" % refs[self.share])
        return "nn.Dense(%s)" % ", ".join(args)


def _args(*pairs, **kw):
    """Source of keyword arguments that differ from their defaults."""
    out = [repr(a) for a in pairs]
    for key, (value, default) in kw.items():
        if value != default:
            out.append("%s=%r" % (key, value))
    return ", ".join(out)


@dataclass(frozen=True)
class Conv:
    dims: int                  # 1, 2, 3: Conv1D/2D/3D, layout NCW/NCHW/NCDHW
    channels: int
    kernel: int
    strides: int = 1
    padding: int = 0
    use_bias: bool = True
    in_channels: int = 0
    activation: Optional[str] = None
    transpose: bool = False

    @property
    def class_name(self):
        return "Conv%dD%s" % (self.dims, "Transpose" if self.transpose else "")

    def source(self, refs):
        return "nn.%s(%s)" % (self.class_name, _args(
            self.channels, self.kernel, strides=(self.strides, 1), padding=(self.padding, 0),
            activation=(self.activation, None), use_bias=(self.use_bias, True),
            in_channels=(self.in_channels, 0)))


@dataclass(frozen=True)
class Pool:
    dims: int
    kind: str = "max"          # 'max' | 'avg'
    size: int = 2              # pool_size (strides default to it); ignored when global
    global_pool: bool = False

    @property
    def class_name(self):
        return "%s%sPool%dD" % ("Global" if self.global_pool else "", self.kind.capitalize(),
                                self.dims)

    def source(self, refs):
        if self.global_pool:
            return "nn.%s()" % self.class_name
        return "nn.%s(pool_size=%d)" % (self.class_name, self.size)


@dataclass(frozen=True)
class Flatten:
    def source(self, refs):
        return "nn.Flatten()"


@dataclass(frozen=True)
class Dropout:
    rate: float = 0.5

    def source(self, refs):
        return "nn.Dropout(%r)" % self.rate


@dataclass(frozen=True)
class Activation:
    activation: str = "relu"

    def source(self, refs):
        return "nn.Activation(%r)" % self.activation


@dataclass(frozen=True)
class Lambda:
    function: str = "tanh"     # the name of an nd function
    hybrid: bool = True        # HybridLambda (a HybridBlock) or Lambda (a Block)

    def source(self, refs):
        return "nn.%s(%r)" % ("HybridLambda" if self.hybrid else "Lambda", self.function)


@dataclass(frozen=True)
class Norm:
    kind: str = "batch"        # 'batch' (axis 1) | 'layer' (axis -1) | 'instance' (axis 1)
    in_channels: int = 0
    scale: bool = False        # InstanceNorm only (its default False; the others True)

    @property
    def class_name(self):
        return {"batch": "BatchNorm", "layer": "LayerNorm", "instance": "InstanceNorm"}[self.kind]

    def source(self, refs):
        return "nn.%s(%s)" % (self.class_name, _args(
            in_channels=(self.in_channels, 0),
            scale=(self.scale, False if self.kind == "instance" else self.scale)))


@dataclass(frozen=True)
class Embedding:
    input_dim: int
    output_dim: int

    def source(self, refs):
        return "nn.Embedding(%d, %d)" % (self.input_dim, self.output_dim)


@dataclass(frozen=True)
class Recurrent:
    mode: str                  # 'rnn' | 'lstm' | 'gru'
    hidden: int
    num_layers: int = 1
    bidirectional: bool = False
    input_size: int = 0

    @property
    def class_name(self):
        return self.mode.upper()

    @property
    def gates(self):
        return {"rnn": 1, "lstm": 4, "gru": 3}[self.mode]

    def source(self, refs):
        return "rnn.%s(%s)" % (self.class_name, _args(
            self.hidden, num_layers=(self.num_layers, 1),
            bidirectional=(self.bidirectional, False), input_size=(self.input_size, 0)))


LAYERS = (Dense, Conv, Pool, Flatten, Dropout, Activation, Lambda, Norm, Embedding, Recurrent)


@dataclass(frozen=True)
class Input:
    """The input a net was designed for: (batch,) + dims; `axis` is the axis whose size
    the first layers read (channels, features); `indices` > 0: integer indices below it."""
    dims: Tuple[int, ...]
    axis: int = 1
    indices: int = 0


@dataclass(frozen=True)
class Reuse:
    ref: int  # creation number of an earlier Dense: the same block is added again


@dataclass(frozen=True)
class Sequential:
    children: Tuple[object, ...] = field(default_factory=tuple)  # Sequential, a layer, Reuse
    hybrid: bool = False       # HybridSequential
    prefix: Optional[str] = None
    scoped: bool = False       # children created inside `with net.name_scope():`

    @property
    def class_name(self):
        return "HybridSequential" if self.hybrid else "Sequential"


def walk(node):
    """Nodes in creation order (pre-order)."""
    yield node
    if isinstance(node, Sequential):
        for child in node.children:
            yield from walk(child)


def dense_layers(node):
    return [n for n in walk(node) if isinstance(n, Dense)]


def source_lines(arch, var="net"):
    """The user code that builds `arch` (framework-neutral: `nn` is Gluon's namespace)."""
    lines = []
    refs = {}
    counter = [0, 0, 0]

    def emit(node, indent):
        pad = "    " * indent
        if isinstance(node, Dense):
            name = "d%d" % counter[0]
            refs[counter[0]] = name
            counter[0] += 1
            lines.append("%s%s = %s" % (pad, name, node.source(refs)))
            return name
        if isinstance(node, Reuse):
            return refs[node.ref]
        if isinstance(node, LAYERS):
            name = "b%d" % counter[2]
            counter[2] += 1
            lines.append("%s%s = %s" % (pad, name, node.source(refs)))
            return name
        name = var if indent == 0 and not lines else "s%d" % counter[1]
        counter[1] += 1
        args = "prefix=%r" % node.prefix if node.prefix is not None else ""
        lines.append("%s%s = nn.%s(%s)" % (pad, name, node.class_name, args))
        inner = indent
        if node.scoped:
            lines.append("%swith %s.name_scope():" % (pad, name))
            inner = indent + 1
        kids = [emit(child, inner) for child in node.children]
        if kids:
            lines.append("%s%s.add(%s)" % ("    " * inner, name, ", ".join(kids)))
        return name

    emit(arch, 0)
    return lines
