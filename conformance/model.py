"""The executable reference model of the clauses (plain Python, no framework).

Given an architecture (`conformance.arch`) and a sequence of user operations, it predicts
every observable: parameter names and shapes (0 = unknown), collect_params order, block and
ParameterDict reprs, which initializer calls happen (name, shape, order), each parameter's
value (as a constant fill), errors (as abstract kinds) and warnings.

The state of one parameter mirrors Gluon 1.9.1's `Parameter`: a shape, `data` (None until
initialized, else the value), and `deferred` (the registered initializer and any value
given by set_data while waiting for a shape).

Error kinds (see clauses.ERROR_KINDS): 'not_initialized', 'deferred', 'shape_mismatch'.
Documented divergences of an implementation from Gluon are switched on by name (see
DIVERGENCES); the model then predicts that implementation's deliberate behaviour.
"""

import copy
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from conformance import arch as A

# Deliberate divergences an implementation may declare (docs/divergences.md of keras_defer).
DIVERGENCES = {
    "atomic_first_pass": "A forward pass that fails changes nothing, even in a "
                         "non-hybridized net (Gluon initializes the layers before the failure).",
    "set_data_uninitialized_unchanged": "set_data before initialize() raises and leaves the "
                                        "shape unchanged (Gluon changes the shape, then asserts).",
}

UNIFORM = "uniform"  # the value token of Gluon's default initializer: random, not checked

WARN_ALREADY = ("Parameter '%s' is already initialized, ignoring. "
                "Set force_reinit=True to re-initialize.")
WARN_SEQUENTIAL = ("All children of this Sequential layer '%s' are HybridBlocks. Consider "
                   "using HybridSequential for the best performance.")


class ModelError(Exception):
    def __init__(self, kind, detail=""):
        super().__init__("%s: %s" % (kind, detail))
        self.kind = kind
        self.detail = detail


@dataclass
class Param:
    name: str
    shape: Tuple[int, ...]
    own_init: Optional[str]          # 'zeros' | 'ones' | None (the global initializer)
    data: Optional[object] = None    # value token once initialized (float, or UNIFORM)
    deferred: Optional[tuple] = None  # (initializer, pending value token or None)
    ctx: Optional[str] = None

    @property
    def known(self):
        return bool(self.shape) and all(d > 0 for d in self.shape)

    def repr(self):
        return "Parameter %s (shape=%s, dtype=float32)" % (self.name, self.shape)

    def compatible(self, shape):
        return len(shape) == len(self.shape) and all(
            old in (0, new) for new, old in zip(shape, self.shape))


@dataclass
class DenseObj:
    index: int
    prefix: str
    units: int
    activation: Optional[str]
    flatten: bool
    weight: str
    bias: Optional[str]


@dataclass
class Node:
    """A built block: a DenseObj leaf (by index) or a container."""
    class_name: str
    prefix: str
    children: List[object] = field(default_factory=list)  # Node or int (DenseObj index)
    hybrid: bool = False


@dataclass
class Outcome:
    error: Optional[str] = None        # abstract error kind or None
    calls: List[tuple] = field(default_factory=list)   # recorded (name, shape)
    warnings: List[str] = field(default_factory=list)
    output_shape: Optional[tuple] = None
    saved: Optional[dict] = None


class World:
    """Process-wide state: the global name counters and the recording initializer's counter."""

    def __init__(self, divergences=()):
        unknown = set(divergences) - set(DIVERGENCES)
        if unknown:
            raise ValueError("unknown divergences: %s" % sorted(unknown))
        self.divergences = frozenset(divergences)
        self.counters = {}
        self.recorded_calls = 0

    def next_global(self, hint):
        n = self.counters.get(hint, 0)
        self.counters[hint] = n + 1
        return "%s%d_" % (hint, n)

    def build(self, arch):
        return NetModel(self, arch)


class NetModel:
    def __init__(self, world, arch):
        self.world = world
        self.arch = arch
        self.params = {}      # name -> Param, in creation order
        self.dense = []       # DenseObj by creation index
        self.hybridized = False
        self.root = self._build(arch, scope=None)

    # -- construction: names ----------------------------------------------------------
    def _prefix(self, hint, given, scope):
        if scope is None:
            return given if given is not None else self.world.next_global(hint)
        parent_prefix, counters = scope
        if given is None:
            n = counters.get(hint, 0)
            counters[hint] = n + 1
            given = "%s%d_" % (hint, n)
        return parent_prefix + given

    def _build(self, node, scope):
        if isinstance(node, A.Reuse):
            return node.ref
        if isinstance(node, A.Dense):
            prefix = self._prefix("dense", node.prefix, scope)
            index = len(self.dense)
            if node.share is not None:
                src = self.dense[node.share]
                weight, bias = src.weight, src.bias
                w = self.params[weight]
                if node.in_units and w.shape[1] == 0:  # ParameterDict.get merges the shape
                    w.shape = (w.shape[0], node.in_units)
            else:
                weight = prefix + "weight"
                self.params[weight] = Param(weight, (node.units, node.in_units),
                                            node.weight_initializer)
                bias = None
                if node.use_bias:
                    bias = prefix + "bias"
                    self.params[bias] = Param(bias, (node.units,), node.bias_initializer)
            self.dense.append(DenseObj(index, prefix, node.units, node.activation,
                                       node.flatten, weight, bias))
            return index
        prefix = self._prefix(node.class_name.lower(), node.prefix, scope)
        built = Node(node.class_name, prefix, hybrid=node.hybrid)
        inner = (prefix, {}) if node.scoped else scope
        built.children = [self._build(child, inner) for child in node.children]
        return built

    # -- structure ----------------------------------------------------------------------
    def dense_params(self, index):
        d = self.dense[index]
        return [d.weight] + ([d.bias] if d.bias else [])

    def _collect(self, node, out):
        if isinstance(node, int):
            for name in self.dense_params(node):
                if name not in out:
                    out.append(name)
            return
        for child in node.children:
            self._collect(child, out)

    def collect_params(self, select=None):
        names = []
        self._collect(self.root, names)
        if select is not None:
            pattern = re.compile(select)
            names = [n for n in names if pattern.match(n)]
        return names

    def param_table(self, select=None):
        return [(n, self.params[n].shape) for n in self.collect_params(select)]

    def block_repr(self, node=None):
        node = self.root if node is None else node
        if isinstance(node, int):
            d = self.dense[node]
            shape = self.params[d.weight].shape
            act = "Activation(%s)" % d.activation if d.activation else "linear"
            return "Dense(%s -> %d, %s)" % (shape[1] if shape[1] else None, shape[0], act)
        lines = ["  (%d): %s" % (i, _indent(self.block_repr(c), 2))
                 for i, c in enumerate(node.children)]
        return "%s(\n%s\n)" % (node.class_name, "\n".join(lines))

    def params_repr(self, select=None):
        content = "\n".join(_indent("  " + self.params[n].repr(), 2)
                            for n in self.collect_params(select))
        return "%s (\n%s\n)" % (self.root.prefix, content)

    def structural_keys(self):
        """save_parameters' keys ('0.weight', '1.0.bias', ...) -> parameter name."""
        out = {}

        def visit(node, path):
            if isinstance(node, int):
                d = self.dense[node]
                out[path + "weight"] = d.weight
                if d.bias:
                    out[path + "bias"] = d.bias
                return
            for i, child in enumerate(node.children):
                visit(child, path + "%d." % i)

        visit(self.root, "")
        return out

    # -- parameter lifecycle ------------------------------------------------------------
    def _run_init(self, p, initializer, out):
        if initializer == "recording":
            self.world.recorded_calls += 1
            out.calls.append((p.name, p.shape))
            return float(self.world.recorded_calls)
        if initializer == "default":
            return UNIFORM
        return {"zeros": 0.0, "ones": 1.0}[initializer]

    def _finish(self, p, out):
        if not p.deferred:
            return
        initializer, pending = p.deferred
        p.deferred = None
        p.data = pending if pending is not None else self._run_init(p, initializer, out)

    def initialize(self, initializer="default", force_reinit=False, ctx="cpu(0)"):
        out = Outcome()
        for name in self.collect_params():
            p = self.params[name]
            if p.data is not None and not force_reinit:
                out.warnings.append(WARN_ALREADY % name)
                continue
            p.data = None
            p.ctx = ctx
            p.deferred = (p.own_init if p.own_init is not None else initializer, None)
            if p.known:
                self._finish(p, out)
        return out

    def data(self, name):
        """Error kind of Parameter.data() (and grad(), list_ctx() before initialize)."""
        p = self.params[name]
        if p.data is not None:
            return None
        return "deferred" if p.deferred else "not_initialized"

    def list_ctx(self, name):
        p = self.params[name]
        if p.data is None and not p.deferred:
            raise ModelError("not_initialized", name)
        return [p.ctx]

    def set_data(self, name, shape, value):
        out = Outcome()
        p = self.params[name]
        if not p.compatible(shape):
            out.error = "shape_mismatch"
            return out
        if p.data is None and not p.deferred:
            if "set_data_uninitialized_unchanged" not in self.world.divergences:
                p.shape = tuple(shape)
            out.error = "not_initialized"
            return out
        p.shape = tuple(shape)
        if p.data is None:
            p.deferred = (p.deferred[0], value)
        else:
            p.data = value
        return out

    # -- forward --------------------------------------------------------------------------
    def _units(self, node, hybrid_parent):
        """Forward order as a list of 'units': a unit is a list of Dense indices whose
        first pass is one transaction (a hybridized HybridSequential, or one Dense)."""
        if isinstance(node, int):
            return [[node]]
        if node.hybrid and self.hybridized and not hybrid_parent:
            flat = []
            for u in self._units(node, True):
                flat.extend(u)
            return [flat]
        units = []
        for child in node.children:
            units.extend(self._units(child, hybrid_parent or (node.hybrid and self.hybridized)))
        return units

    def forward(self, in_shape):
        out = Outcome()
        units = self._units(self.root, False)
        if "atomic_first_pass" in self.world.divergences:
            units = [[i for u in units for i in u]]
        shape = tuple(in_shape)
        for unit in units:
            try:
                shape = self._forward_unit(unit, shape, out)
            except ModelError as e:
                out.error = e.kind
                return out
        out.output_shape = shape
        return out

    def _forward_unit(self, unit, shape, out):
        order = []
        for i in unit:
            for name in self.dense_params(i):
                if name not in order:
                    order.append(name)
        need_infer = False
        for name in order:
            kind = self.data(name)
            if kind == "not_initialized":
                raise ModelError(kind, name)
            if kind == "deferred":
                need_infer = True
                break
        if need_infer:
            # infer every shape of the unit from the input; nothing changes on a conflict
            inferred = {}
            s = shape
            for i in unit:
                d = self.dense[i]
                f = _features(s, d.flatten)
                wshape = inferred.get(d.weight, self.params[d.weight].shape)
                if wshape[1] not in (0, f):
                    raise ModelError("shape_mismatch", d.weight)
                inferred[d.weight] = (d.units, f)
                s = _out_shape(s, d)
            for name, new in inferred.items():
                self.params[name].shape = new
            for name in order:
                self._finish(self.params[name], out)
        for i in unit:
            d = self.dense[i]
            f = _features(shape, d.flatten)
            if self.params[d.weight].shape[1] != f:
                raise ModelError("shape_mismatch", d.weight)
            shape = _out_shape(shape, d)
        return shape

    def hybridize(self):
        out = Outcome()

        def visit(node):
            if isinstance(node, int):
                return
            if not node.hybrid and node.children and all(
                    isinstance(c, int) or c.hybrid for c in node.children):
                out.warnings.append(WARN_SEQUENTIAL % node.prefix)
            for child in node.children:
                visit(child)

        visit(self.root)
        self.hybridized = True
        return out

    # -- save / load ------------------------------------------------------------------------
    def save(self):
        out = Outcome()
        keys = self.structural_keys()
        for key, name in keys.items():
            kind = self.data(name)
            if kind:
                out.error = kind
                return out
        out.saved = {key: (self.params[name].shape, self.params[name].data)
                     for key, name in keys.items()}
        return out

    def load(self, saved, ctx="cpu(0)"):
        """Load into this (fresh) net; file keys of shared parameters load the same one."""
        out = Outcome()
        keys = self.structural_keys()
        for key, (shape, _) in saved.items():
            p = self.params[keys[key]]
            if not p.compatible(shape):
                out.error = "shape_mismatch"
                return out
        for key, (shape, value) in saved.items():
            p = self.params[keys[key]]
            p.shape = tuple(shape)
            if p.data is None and not p.deferred:
                p.ctx = ctx
            p.data = value
            p.deferred = None
        return out

    def clone(self):
        """copy.deepcopy of the net: the same names, independent state, the same world."""
        return copy.deepcopy(self, {id(self.world): self.world})


def _features(shape, flatten):
    if flatten:
        n = 1
        for d in shape[1:]:
            n *= d
        return n
    return shape[-1]


def _out_shape(shape, d):
    return (shape[0], d.units) if d.flatten else tuple(shape[:-1]) + (d.units,)


def _indent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])
