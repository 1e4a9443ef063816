"""Architectures as plain data: what a user writes, before any framework sees it.

A tree of `Sequential` nodes whose leaves are layers or `Reuse` (the same Dense object
added a second time).  Layers (`layer.Layer` subclasses, by family as Gluon groups
them): `Dense`, `Embedding`, `Activation` (basic); `Conv` (Conv1D/2D/3D and their
Transpose), `Pool` (Max/Avg/GlobalMax/GlobalAvg 1D-3D) (conv); `Norm` (BatchNorm,
LayerNorm, InstanceNorm) (norm); `Recurrent` (rnn.RNN/LSTM/GRU) (rnn); `Flatten`,
`Dropout`, `Lambda` (Lambda/HybridLambda of an `nd` function name) (utility).  Each
layer also carries its Gluon facts (parameters, shapes, repr): see `layer.Layer`.

Dense layers are numbered in creation order (depth-first, pre-order), which is the order
the builder creates them in; `Dense.share` and `Reuse.ref` point back to such a number.

`Input` describes the input a net with a non-Dense first stage was designed for (its
non-batch dims, which axis carries the channels/features, integer indices for Embedding).
"""

from dataclasses import dataclass, field
from typing import Optional, Tuple

from conformance.arch.basic import Activation, Dense, Embedding
from conformance.arch.conv import Conv, Pool
from conformance.arch.layer import Layer
from conformance.arch.norm import Norm
from conformance.arch.rnn import Recurrent
from conformance.arch.utility import Dropout, Flatten, Lambda

__all__ = ["Activation", "Conv", "Dense", "Dropout", "Embedding", "Flatten", "Input", "Lambda",
           "Layer", "Norm", "Pool", "Recurrent", "Reuse", "Sequential", "shares", "source_lines",
           "walk"]


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


def shares(node):
    """Whether the tree shares parameters (params= or a block added twice)."""
    return any(isinstance(n, Reuse) or getattr(n, "share", None) is not None
               for n in walk(node))


def source_lines(arch, var="net"):
    """The user code that builds `arch` (framework-neutral: `nn` is Gluon's namespace)."""
    lines = []
    refs = {}
    counter = [0, 0, 0]

    def emit(node, indent):
        pad = "    " * indent
        if isinstance(node, Reuse):
            return refs[node.ref]
        if isinstance(node, Layer):
            if node.shareable:
                name = "d%d" % counter[0]
                refs[counter[0]] = name
                counter[0] += 1
            else:
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
