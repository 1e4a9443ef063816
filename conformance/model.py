"""The executable reference model of the clauses (plain Python, no framework).

Given an architecture (`conformance.arch`: Dense layers in containers, optionally after a
convolution/pooling/normalization stem or recurrent layers) and a sequence of user
operations, it predicts every observable: parameter names and shapes (0 = unknown),
collect_params order, block and ParameterDict reprs, which initializer calls happen (name,
shape, order), each parameter's value (as a constant fill), errors (as abstract kinds) and
warnings.  What is particular to a kind of block (its parameters, the shapes an input
requires, its output shape, its repr) the model asks the arch node (`arch.Layer`); this
module holds what all blocks share: names, the parameter lifecycle, the forward pass's
transaction units, save/load.

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
    # NDArray and autograd (conformance/ndarray_model.py, autograd_model.py)
    "numpy_operands": "A numpy array operand of +, -, *, / is taken as nd.array(operand, "
                      "dtype=x.dtype) (MXNet raises TypeError).",
    "jax_32bit": "float64/int64 arrays are stored as float32/int32 (Keras on JAX without "
                 "jax_enable_x64).",
    "no_recording": "autograd.record() raises MXNetError, naming what to use instead (Keras on "
                    "JAX records no operations).",
    # gluon.Trainer (conformance/optimizer_model.py)
    "atomic_stale_step": "A trainer.step refused for a stale gradient changes nothing: no "
                         "parameter's fresh flag is consumed (Gluon has consumed those of the "
                         "parameters before the stale one, so its retry with "
                         "ignore_stale_grad=True skips them).",
    # parameter files (conformance/checks/file_format.py)
    "atomic_load": "Loading a parameter file that does not fit the net (an unknown name, a "
                   "contradicting shape) changes nothing (Gluon has loaded the Parameters "
                   "before the failing name).",
    "checksum_trailer": "nd.save and save_parameters append a trailer after MXNet's bytes "
                        "(magic b'\\xfekdCRC\\x01\\x00', uint64 length and CRC-32 of the "
                        "body), which MXNet's reader ignores: damaged bytes are refused.",
    # Parameter arrays (DI-29)
    "copy_trains": "A copy.deepcopy of an initialized net trains: backward through it reaches "
                   "its parameters (MXNet 1.9.1's copied arrays have no gradient attached: "
                   "backward raises 'not in a computational graph' until force_reinit).",
    "reinit_keeps_array": "initialize(force_reinit=True) re-draws into the parameter's existing "
                          "array (Keras variable) instead of making a new one, so optimizers and "
                          "distributed wrappers holding it stay attached.",
    # BatchNorm's running statistics (VA-06, conformance/checks/values.py)
    "batchnorm_stats_at_forward": "A training forward pass (record() or train_mode()) moves "
                                  "BatchNorm's running statistics itself (MXNet moves them in "
                                  "the backward pass: a training forward alone leaves them).",
    # recurrent layers' input weights (DI-15, DI-16)
    "rnn_checks_direction_shapes": "A bidirectional recurrent layer checks each direction's "
                                   "layer-0 input weight against the input (Gluon's fused "
                                   "operator checks only their total: see "
                                   "NetModel._fused_input_weights).",
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
    grad_req: str = "write"          # 'null': BatchNorm's running statistics, ...
    dtype: str = "float32"           # as repr() prints it
    array: int = 0                   # which array data() returns: a new number for a new array
    draw: int = 0                    # which random draw `data` holds when it is UNIFORM

    def repr(self):
        return "Parameter %s (shape=%s, dtype=%s)" % (self.name, self.shape, self.dtype)

    @property
    def known(self):
        return bool(self.shape) and all(d > 0 for d in self.shape)

    def compatible(self, shape):
        return len(shape) == len(self.shape) and all(
            old in (0, new) for new, old in zip(shape, self.shape))


@dataclass
class BuiltLayer:
    """A built leaf block: its arch node, prefix and parameters (attribute -> full name,
    in registration order, which is the order Gluon initializes them in)."""
    index: int
    node: A.Layer
    prefix: str
    params: dict = field(default_factory=dict)


@dataclass
class BuiltContainer:
    """A built Sequential/HybridSequential: children are containers or leaf indices."""
    class_name: str
    prefix: str
    children: List[object] = field(default_factory=list)  # BuiltContainer or int (leaf index)
    hybrid: bool = False


@dataclass
class Outcome:
    error: Optional[str] = None        # abstract error kind or None
    calls: List[tuple] = field(default_factory=list)   # recorded (name, shape)
    warnings: List[str] = field(default_factory=list)
    output_shape: Optional[tuple] = None
    saved: Optional[dict] = None
    draws: Optional[dict] = None       # save(): structural key -> the draw its UNIFORM value is


class World:
    """Process-wide state: the global name counters and the recording initializer's counter."""

    def __init__(self, divergences=()):
        unknown = set(divergences) - set(DIVERGENCES)
        if unknown:
            raise ValueError("unknown divergences: %s" % sorted(unknown))
        self.divergences = frozenset(divergences)
        self.counters = {}
        self.recorded_calls = 0
        self.arrays = 0   # arrays made so far (Param.array)
        self.draws = 0    # random draws made so far (Param.draw)

    def next_array(self):
        self.arrays += 1
        return self.arrays

    def next_draw(self):
        self.draws += 1
        return self.draws

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
        self.layers = []      # BuiltLayer by creation index
        self.shareable = []   # shareable (Dense) creation number -> its BuiltLayer
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
            return self.shareable[node.ref].index
        if isinstance(node, A.Layer):
            layer = BuiltLayer(len(self.layers), node, self._prefix(node.hint, node.prefix, scope))
            if node.share is not None:
                self._share(layer, self.shareable[node.share])
            else:
                for attr, shape, init, grad_req in node.declared_params():
                    name = layer.prefix + attr
                    self.params[name] = Param(name, tuple(shape), init, grad_req=grad_req,
                                              dtype=node.dtype)
                    layer.params[attr] = name
            self.layers.append(layer)
            if node.shareable:
                self.shareable.append(layer)
            return layer.index
        prefix = self._prefix(node.class_name.lower(), node.prefix, scope)
        built = BuiltContainer(node.class_name, prefix, hybrid=node.hybrid)
        inner = (prefix, {}) if node.scoped else scope
        built.children = [self._build(child, inner) for child in node.children]
        return built

    def _share(self, layer, owner):
        """params=<owner>.params: the owner's Parameters; ParameterDict.get merges the
        shapes the sharer declares into them (a dimension one side knows fills the other's
        0)."""
        layer.params = dict(owner.params)
        for attr, shape, _, _ in layer.node.declared_params():
            p = self.params.get(layer.params.get(attr))
            if p is not None and len(p.shape) == len(shape) and all(
                    old == new or 0 in (old, new) for old, new in zip(p.shape, shape)):
                p.shape = tuple(old or new for old, new in zip(p.shape, shape))

    # -- structure ----------------------------------------------------------------------
    def layer_params(self, index):
        return list(self.layers[index].params.values())

    def layers_in_forward_order(self):
        return [self.layers[i] for unit in self._units(self.root, False) for i in unit]

    def _collect(self, node, out):
        if isinstance(node, int):
            for name in self.layer_params(node):
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
            layer = self.layers[node]
            return layer.node.gluon_repr(lambda attr: self.params[layer.params[attr]].shape)
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
            p.draw = self.world.next_draw()
            return UNIFORM
        return {"zeros": 0.0, "ones": 1.0}[initializer]

    def _finish(self, p, out):
        if not p.deferred:
            return
        initializer, pending = p.deferred
        p.deferred = None
        p.data = pending if pending is not None else self._run_init(p, initializer, out)
        p.array = self.world.next_array()   # Gluon's _init_impl: a new array

    def initialize(self, initializer="default", force_reinit=False, ctx="cpu(0)"):
        out = Outcome()
        for name in self.collect_params():
            p = self.params[name]
            if p.data is not None and not force_reinit:
                out.warnings.append(WARN_ALREADY % name)
                continue
            kept = p.array if p.data is not None else None
            p.data = None
            p.ctx = ctx
            p.deferred = (p.own_init if p.own_init is not None else initializer, None)
            if p.known:
                self._finish(p, out)
                if kept is not None and "reinit_keeps_array" in self.world.divergences:
                    p.array = kept
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
        """Forward order as a list of 'units': a unit is a list of leaf indices whose
        first pass is one transaction (a hybridized HybridSequential, or one leaf)."""
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
            for name in self.layer_params(i):
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
            # changes nothing, one it overwrites (overwrites_shapes) fails on the write-back
            inferred, overwritten = {}, set()
            atomic = "atomic_first_pass" in self.world.divergences
            s = shape
            for i in unit:
                layer = self.layers[i]
                required = self._required(layer, s)
                if self._fused(layer):
                    required.update(self._fused_input_weights(layer, required, inferred))
                for name, want in required.items():
                    have = inferred.get(name, self.params[name].shape)
                    if len(have) != len(want) or any(h not in (0, w) for h, w in zip(have, want)):
                        if atomic or name in inferred or not layer.node.overwrites_shapes:
                            raise ModelError("shape_mismatch", name)
                        overwritten.add(name)
                    inferred[name] = want
                s = layer.node.output_shape(s)
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
                if not self.params[name].known and self.params[name].deferred:
                    # Gluon's _finish_deferred_init asserts 'Cannot initialize Parameter
                    # ... invalid shape' (a fused direction left no columns, see
                    # _fused_input_weights): the parameters before it stay initialized
                    raise ModelError("shape_mismatch", name)
                self._finish(self.params[name], out)
        if (self.hybridized and all(self.layers[i].node.hybrid for i in unit)
                and all(self.params[name].data is not None for name in order)):
            # Gluon's _build_cache made the unit's CachedOp (observed in MXNet 1.9.1: it
            # exists from here on, even if the call fails below)
            self.compiled = True
        for i in unit:
            layer = self.layers[i]
            required = self._required(layer, shape)
            if self._fused(layer):
                required.update(self._fused_input_weights(layer, required, {}))
            for name, want in required.items():
                if self.params[name].shape != want and not self._runs_on(layer):
                    raise ModelError("shape_mismatch", name)
            shape = layer.node.output_shape(shape)
        return shape

    def _fused(self, layer):
        return (isinstance(layer.node, A.Recurrent) and layer.node.bidirectional
                and "rnn_checks_direction_shapes" not in self.world.divergences)

    def _fused_input_weights(self, layer, required, inferred):
        """The shapes MXNet 1.9.1 gives a bidirectional layer's two layer-0 input weights
        (l0_i2h_weight, r0_i2h_weight), where one was given a shape by set_data before the
        first pass.  Gluon's fused RNN operator takes every parameter flattened and
        concatenated (_rnn_param_concat) and checks only the total size: shape inference
        gives an unknown direction what the known one leaves of the 2 * C columns the input
        requires (observed: r0 set to (2, 1) on a 3-feature input makes l0 (2, 5), and the
        pass runs on the concatenation).  Nothing left: l0 stays (G, 0) and initializing it
        asserts 'invalid shape' (see _forward_unit); less than nothing, or two known
        directions whose columns do not add up: shape inference fails (shape_mismatch).
        Two unknown directions get (G, C) each, as every other layer."""
        names = [layer.params["%s0_i2h_weight" % d] for d in layer.node.directions]
        rows, columns = required[names[0]]
        have = [inferred.get(n, self.params[n].shape) for n in names]
        known = [h[1] for h in have if len(h) == 2 and h[1] > 0]
        if len(known) == 2:
            if sum(known) != 2 * columns:
                raise ModelError("shape_mismatch", names[0])
            return dict(zip(names, have))
        if len(known) == 1:
            left = 2 * columns - known[0]
            if left < 0:
                raise ModelError("shape_mismatch", names[0])
            return {n: (h if len(h) == 2 and h[1] > 0 else (rows, left))
                    for n, h in zip(names, have)}
        return {}

    def _required(self, layer, shape):
        """Parameter name -> the full shape the input `shape` requires of it."""
        return {layer.params[attr]: want
                for attr, want in layer.node.required_shapes(shape).items()}

    def _runs_on(self, layer):
        return (layer.node.runs_on_wrong_size
                and "batchnorm_checks_shapes" not in self.world.divergences)

    def hybridize(self):
        out = Outcome()

        def visit(node):
            if isinstance(node, int):
                return
            if not node.hybrid and node.children and all(
                    self.layers[c].node.hybrid if isinstance(c, int) else c.hybrid
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
        for p in twin.params.values():   # a copy's arrays are its own
            if p.data is not None:
                p.array = self.world.next_array()
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
        out.draws = {key: self.params[name].draw for key, name in keys.items()}
        return out

    def load(self, saved, ctx="cpu(0)", draws=None):
        """Load into this (fresh) net; file keys of shared parameters load the same one.
        A parameter without data gets a new array, one with data keeps its own (Gluon's
        set_data); `draws` (save()'s) says which random draw each UNIFORM value is."""
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
            if p.data is None:
                p.array = self.world.next_array()
            p.data = value
            p.draw = (draws or {}).get(key, 0)
            p.deferred = None
        return out

    def clone(self):
        """copy.deepcopy of the net: the same names, independent state, the same world."""
        return copy.deepcopy(self, {id(self.world): self.world})


def _indent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])
