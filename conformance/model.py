"""The executable reference model of the clauses (plain Python, no framework).

Given an architecture (`conformance.arch`: Dense layers in containers, optionally after a
convolution/pooling/normalization stem or recurrent layers) and a sequence of user
operations, it predicts
every observable: parameter names and shapes (0 = unknown), collect_params order, block and
ParameterDict reprs, which initializer calls happen (name, shape, order), each parameter's
value (as a constant fill), errors (as abstract kinds) and warnings.

The state of one parameter mirrors Gluon 1.9.1's `Parameter`: a shape, `data` (None until
initialized, else the value), and `deferred` (the registered initializer and any value
given by set_data while waiting for a shape).

Error kinds (see clauses.ERROR_KINDS): 'not_initialized', 'deferred', 'shape_mismatch',
'no_grad' (grad() of a parameter with grad_req='null', e.g. BatchNorm's running stats),
'not_copyable' (deepcopy of a net holding Gluon's CachedOp).
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
    "deepcopy_compiled": "copy.deepcopy works on a hybridized net that has run (Gluon's "
                         "CachedOp holds C pointers: deepcopy raises until hybridize() again).",
    "batchnorm_checks_shapes": "A BatchNorm whose initialized parameters contradict the input's "
                               "channels raises a shape mismatch (Gluon's runs on, silently).",
}

NP_FLOAT32 = "<class 'numpy.float32'>"
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
    grad_req: str = "write"          # 'null': BatchNorm's running statistics, ...
    dtype: str = "float32"           # as repr() prints it

    def repr(self):
        return "Parameter %s (shape=%s, dtype=%s)" % (self.name, self.shape, self.dtype)

    @property
    def known(self):
        return bool(self.shape) and all(d > 0 for d in self.shape)

    def compatible(self, shape):
        return len(shape) == len(self.shape) and all(
            old in (0, new) for new, old in zip(shape, self.shape))


@dataclass
class Layer:
    """A built leaf block: its arch node, prefix and parameters (attribute -> full name,
    in registration order, which is the order Gluon initializes them in)."""
    index: int
    node: object
    prefix: str
    params: dict = field(default_factory=dict)

    @property
    def hybrid(self):
        return not (isinstance(self.node, A.Lambda) and not self.node.hybrid)

    # Dense's, kept for the machine and the older call sites
    @property
    def units(self):
        return self.node.units

    @property
    def flatten(self):
        return self.node.flatten

    @property
    def activation(self):
        return self.node.activation

    @property
    def weight(self):
        return self.params.get("weight")

    @property
    def bias(self):
        return self.params.get("bias")


# Gluon's name hint (_alias) of each leaf block class
def _hint(node):
    if isinstance(node, A.Dense):
        return "dense"
    if isinstance(node, A.Conv):
        return "conv"
    if isinstance(node, A.Pool):
        return "pool"
    if isinstance(node, A.Activation):
        return node.activation
    if isinstance(node, A.Lambda):
        return "hybridlambda" if node.hybrid else "lambda"
    if isinstance(node, A.Norm):
        return node.class_name.lower()
    if isinstance(node, A.Recurrent):
        return node.mode
    return type(node).__name__.lower()  # flatten, dropout, embedding


@dataclass
class Node:
    """A built block: a DenseObj leaf (by index) or a container."""
    class_name: str
    prefix: str
    children: List[object] = field(default_factory=list)  # Node or int (Layer index)
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
        self.layers = []      # Layer by creation index
        self.dense = []       # Dense creation number -> its Layer
        self.hybridized = False
        self.compiled = False  # a hybridized unit ran far enough for Gluon to build a CachedOp
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
            return self.dense[node.ref].index
        if isinstance(node, A.Dense):
            prefix = self._prefix("dense", node.prefix, scope)
            layer = Layer(len(self.layers), node, prefix)
            if node.share is not None:
                src = self.dense[node.share]
                layer.params = dict(src.params)
                w = self.params[src.weight]
                if node.in_units and w.shape[1] == 0:  # ParameterDict.get merges the shape
                    w.shape = (w.shape[0], node.in_units)
            else:
                self._add(layer, "weight", (node.units, node.in_units), node.weight_initializer)
                if node.use_bias:
                    self._add(layer, "bias", (node.units,), node.bias_initializer)
            self.layers.append(layer)
            self.dense.append(layer)
            return layer.index
        if isinstance(node, A.LAYERS):
            layer = Layer(len(self.layers), node, self._prefix(_hint(node), None, scope))
            for attr, shape, init, req in _declared(node):
                self._add(layer, attr, shape, init, req)
            self.layers.append(layer)
            return layer.index
        prefix = self._prefix(node.class_name.lower(), node.prefix, scope)
        built = Node(node.class_name, prefix, hybrid=node.hybrid)
        inner = (prefix, {}) if node.scoped else scope
        built.children = [self._build(child, inner) for child in node.children]
        return built

    def _add(self, layer, attr, shape, init, grad_req="write"):
        name = layer.prefix + attr
        # Conv and the norms leave dtype at its default, numpy.float32 (a class); the
        # others pass the string 'float32' (checked against MXNet 1.9.1)
        dtype = (NP_FLOAT32 if isinstance(layer.node, (A.Conv, A.Norm)) else "float32")
        self.params[name] = Param(name, tuple(shape), init, grad_req=grad_req, dtype=dtype)
        layer.params[attr] = name

    # -- structure ----------------------------------------------------------------------
    def dense_params(self, index):
        return list(self.layers[index].params.values())

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
            return _repr(self.layers[node], self.params)
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
                for attr, name in self.layers[node].params.items():
                    out[path + attr] = name
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

    def grad(self, name):
        """Error kind of Parameter.grad(): data()'s, or 'no_grad' once initialized with
        grad_req='null' (BatchNorm's running statistics, InstanceNorm's unused gamma)."""
        kind = self.data(name)
        if kind is None and self.params[name].grad_req == "null":
            return "no_grad"
        return kind

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
            # infer every shape of the unit from the input; a conflict an operator checks
            # changes nothing, one it overwrites (_overwrites) fails on the write-back
            inferred, overwritten = {}, set()
            atomic = "atomic_first_pass" in self.world.divergences
            s = shape
            for i in unit:
                layer = self.layers[i]
                for name, want in _needs(layer, s).items():
                    have = inferred.get(name, self.params[name].shape)
                    if len(have) != len(want) or any(h not in (0, w) for h, w in zip(have, want)):
                        if atomic or name in inferred or not _overwrites(layer):
                            raise ModelError("shape_mismatch", name)
                        overwritten.add(name)
                    inferred[name] = want
                s = _out(layer, s)
            if overwritten:
                # Gluon writes the inferred shapes back one parameter at a time, in
                # collect_params() order: those before the contradicted one keep theirs
                for name in order:
                    if name in overwritten:
                        raise ModelError("shape_mismatch", name)
                    if name in inferred:
                        self.params[name].shape = inferred[name]
            for name, new in inferred.items():
                self.params[name].shape = new
            for name in order:
                self._finish(self.params[name], out)
        if (self.hybridized and all(self.layers[i].hybrid for i in unit)
                and all(self.params[name].data is not None for name in order)):
            # Gluon's _build_cache made the unit's CachedOp (observed in MXNet 1.9.1: it
            # exists from here on, even if the call fails below)
            self.compiled = True
        for i in unit:
            layer = self.layers[i]
            for name, want in _needs(layer, shape).items():
                if self.params[name].shape != want and not self._runs_on(layer):
                    raise ModelError("shape_mismatch", name)
            shape = _out(layer, shape)
        return shape

    def _runs_on(self, layer):
        """MXNet 1.9.1's BatchNorm operator runs with initialized parameters of the wrong
        size (its shape function overwrites them, the kernel reads what it needs)."""
        return (isinstance(layer.node, A.Norm) and layer.node.kind == "batch"
                and "batchnorm_checks_shapes" not in self.world.divergences)

    def hybridize(self):
        out = Outcome()

        def visit(node):
            if isinstance(node, int):
                return
            if not node.hybrid and node.children and all(
                    self.layers[c].hybrid if isinstance(c, int) else c.hybrid
                    for c in node.children):
                out.warnings.append(WARN_SEQUENTIAL % node.prefix)
            for child in node.children:
                visit(child)

        visit(self.root)
        self.hybridized = True
        self.compiled = False  # hybridize() clears every CachedOp
        return out

    def deepcopy(self):
        """copy.deepcopy(net): the copy's model, or the error Gluon raises."""
        out = Outcome()
        if self.compiled and "deepcopy_compiled" not in self.world.divergences:
            out.error = "not_copyable"
            return out, None
        twin = self.clone()
        twin.compiled = False
        return out, twin

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


# -- the leaf blocks: declared parameters, shapes inferred, output shape, repr ---------------

def _declared(node):
    """(attribute, shape before the first pass, own initializer, grad_req) in Gluon's
    registration order (gluon/nn/conv_layers.py, basic_layers.py, rnn/rnn_layer.py)."""
    if isinstance(node, A.Conv):
        k = (node.kernel,) * node.dims
        shape = ((node.in_channels, node.channels) if node.transpose
                 else (node.channels, node.in_channels)) + k
        out = [("weight", shape, None, "write")]
        if node.use_bias:
            out.append(("bias", (node.channels,), "zeros", "write"))
        return out
    if isinstance(node, A.Norm):
        c = (node.in_channels,)
        if node.kind == "batch":
            return [("gamma", c, "ones", "write"), ("beta", c, "zeros", "write"),
                    ("running_mean", c, "zeros", "null"), ("running_var", c, "ones", "null")]
        scale = node.scale if node.kind == "instance" else True
        return [("gamma", c, "ones", "write" if scale else "null"), ("beta", c, "zeros", "write")]
    if isinstance(node, A.Embedding):
        return [("weight", (node.input_dim, node.output_dim), None, "write")]
    if isinstance(node, A.Recurrent):
        out, ng, nh = [], node.gates * node.hidden, node.hidden
        ni = node.input_size
        for i in range(node.num_layers):
            for j in ["l", "r"][:2 if node.bidirectional else 1]:
                out += [("%s%d_i2h_weight" % (j, i), (ng, ni), None, "write"),
                        ("%s%d_h2h_weight" % (j, i), (ng, nh), None, "write"),
                        ("%s%d_i2h_bias" % (j, i), (ng,), "zeros", "write"),
                        ("%s%d_h2h_bias" % (j, i), (ng,), "zeros", "write")]
            ni = nh * (2 if node.bidirectional else 1)
        return out
    return []


def _needs(layer, shape):
    """The full shapes the input `shape` requires of the layer's parameters."""
    node, p = layer.node, layer.params
    if isinstance(node, A.Dense):
        return {p["weight"]: (node.units, _features(shape, node.flatten))}
    if isinstance(node, A.Conv):
        _rank(node, shape, node.dims + 2)
        k = (node.kernel,) * node.dims
        c = shape[1]
        return {p["weight"]: ((c, node.channels) if node.transpose else (node.channels, c)) + k}
    if isinstance(node, A.Norm):
        c = shape[-1] if node.kind == "layer" else shape[1]
        return {name: (c,) for name in p.values()}
    if isinstance(node, A.Recurrent):
        _rank(node, shape, 3)
        return {p[j + "0_i2h_weight"]: (node.gates * node.hidden, shape[2])
                for j in ["l", "r"][:2 if node.bidirectional else 1]}
    return {}


def _overwrites(layer):
    """Whether MXNet's shape function for the layer assigns its parameters' shapes
    instead of checking them against known ones (BatchNorm, InstanceNorm: observed in
    MXNet 1.9.1). A contradicting known shape then passes the symbolic inference and
    fails only when Gluon's ``_infer_attrs`` writes the inferred shapes back."""
    return isinstance(layer.node, A.Norm) and layer.node.kind in ("batch", "instance")


def _rank(node, shape, rank):
    if len(shape) != rank:  # the strategies never draw it: the model does not predict it
        raise AssertionError("%s on an input of shape %s" % (node, shape))


def _out(layer, shape):
    node = layer.node
    if isinstance(node, A.Dense):
        return _out_shape(shape, node)
    if isinstance(node, A.Conv):
        k, s, pad = node.kernel, node.strides, node.padding
        if node.transpose:
            spatial = tuple((n - 1) * s - 2 * pad + k for n in shape[2:])
        else:
            spatial = tuple((n + 2 * pad - k) // s + 1 for n in shape[2:])
        return (shape[0], node.channels) + spatial
    if isinstance(node, A.Pool):
        _rank(node, shape, node.dims + 2)
        if node.global_pool:
            return tuple(shape[:2]) + (1,) * node.dims
        return tuple(shape[:2]) + tuple((n - node.size) // node.size + 1 for n in shape[2:])
    if isinstance(node, A.Flatten):
        return (shape[0], _features(shape, True))
    if isinstance(node, A.Embedding):
        return tuple(shape) + (node.output_dim,)
    if isinstance(node, A.Recurrent):
        return tuple(shape[:2]) + (node.hidden * (2 if node.bidirectional else 1),)
    return tuple(shape)  # Dropout, Activation, Lambda, Norm


def _repr(layer, params):
    """repr() of a leaf block as Gluon 1.9.1 prints it (checked against MXNet)."""
    node = layer.node
    shape = lambda attr: params[layer.params[attr]].shape  # noqa: E731
    act = "Activation(%s)" % node.activation if getattr(node, "activation", None) else None
    if isinstance(node, A.Dense):
        w = shape("weight")
        return "Dense(%s -> %d, %s)" % (w[1] if w[1] else None, w[0], act or "linear")
    if isinstance(node, A.Conv):
        w, d = shape("weight"), node.dims
        text = "%s(%s -> %s, kernel_size=%r, stride=%r" % (
            node.class_name, w[1] if w[1] else None, w[0], (node.kernel,) * d, (node.strides,) * d)
        if node.padding:
            text += ", padding=%r" % ((node.padding,) * d,)
        if not node.use_bias:
            text += ", bias=False"
        if act:
            text += ", " + act
        return text + ")"
    if isinstance(node, A.Pool):
        d = node.dims
        size = (1,) * d if node.global_pool else (node.size,) * d
        return ("%s(size=%r, stride=%r, padding=%r, ceil_mode=%s, global_pool=%s, pool_type=%s, "
                "layout=%s)" % (node.class_name, size, size, (0,) * d, node.global_pool,
                                node.global_pool, node.kind, {1: "NCW", 2: "NCHW", 3: "NCDHW"}[d]))
    if isinstance(node, A.Flatten):
        return "Flatten"
    if isinstance(node, A.Dropout):
        return "Dropout(p = %s, axes=())" % node.rate
    if isinstance(node, A.Activation):
        return "Activation(%s)" % node.activation
    if isinstance(node, A.Lambda):
        return "%s(%s)" % ("HybridLambda" if node.hybrid else "Lambda", node.function)
    if isinstance(node, A.Norm):
        c = shape("gamma")[0]
        if node.kind == "batch":
            return ("BatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, "
                    "use_global_stats=False, in_channels=%s)" % (c if c else None))
        if node.kind == "layer":
            return "LayerNorm(eps=1e-05, axis=-1, center=True, scale=True, in_channels=%d)" % c
        return ("InstanceNorm(eps=1e-05, axis=1, center=True, scale=%s, in_channels=%d)"
                % (node.scale, c))
    if isinstance(node, A.Embedding):
        return "Embedding(%d -> %d, float32)" % (node.input_dim, node.output_dim)
    if isinstance(node, A.Recurrent):
        w = shape("l0_i2h_weight")
        text = "%s(%s -> %d, TNC" % (node.class_name, w[1] if w[1] else None, node.hidden)
        if node.num_layers != 1:
            text += ", num_layers=%d" % node.num_layers
        if node.bidirectional:
            text += ", bidirectional"
        return text + ")"
    raise TypeError(node)


def _indent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])
