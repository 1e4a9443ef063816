"""Architectures as plain data: what a user writes, before any framework sees it.

A tree of `Sequential` nodes whose leaves are `Dense` layers or `Reuse` (the same Dense
object added a second time).  Dense layers are numbered in creation order (depth-first,
pre-order), which is the order the builder creates them in; `Dense.share` and
`Reuse.ref` point back to such a number.
"""

from dataclasses import dataclass, field
from typing import Optional, Tuple, Union


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


@dataclass(frozen=True)
class Reuse:
    ref: int  # creation number of an earlier Dense: the same block is added again


@dataclass(frozen=True)
class Sequential:
    children: Tuple[Union["Sequential", Dense, Reuse], ...] = field(default_factory=tuple)
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
    counter = [0, 0]

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
