"""``Block`` and ``HybridBlock``: Gluon blocks that are real Keras layers.

A block owns a ``ParameterDict`` named after its prefix and a list of children.
Its first call runs Gluon's deferred initialization inside Keras's ``build()``:

1. every parameter must have been ``initialize()``-d (or the call raises Gluon's
   RuntimeError before anything changes);
2. ``build(input_shape)`` infers the unknown (0) dims of the block's parameters from
   the input shape (``infer_shape``), and containers chain this through children
   whose output shape is computable;
3. the pending initializers run once per parameter, in forward order;
4. the forward computation runs.

All of it is one transaction (``first_pass``): a failure leaves the net as it was.
Later calls go straight to ``forward``; nothing is re-initialized.
"""

import functools
import inspect
import re
import weakref
from collections import OrderedDict

import keras
import numpy as np

from keras_defer import fast_path, first_pass, naming
from keras_defer import init as initializer
from keras_defer import keras_compat, keras_saving
from keras_defer.hybrid import in_compiled_call
from keras_defer.errors import ShapeMismatchError
from keras_defer.parameter import (
    Parameter,
    ParameterDict,
    finish_pending_inits,
    merge_shapes,
    shape_is_known,
)

__all__ = ["Block", "HybridBlock"]


def _indent(text, spaces):
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


def _compile_select(block_name, select):
    if not isinstance(select, (str, re.Pattern)):
        raise TypeError(
            "%s.collect_params: select must be a regular expression (str), got %r"
            % (block_name, select)
        )
    try:
        return re.compile(select)
    except re.error as exc:
        raise ValueError(
            "%s.collect_params: select=%r is not a valid regular expression (%s); "
            "e.g. '.*weight' selects every weight." % (block_name, select, exc)
        ) from None


def _input_shape(x):
    return tuple(None if d is None else int(d) for d in x.shape)


@functools.lru_cache(maxsize=None)
def _keras_layer_kwargs():
    """Keyword arguments ``keras.layers.Layer.__init__`` accepts (named or via **kwargs)."""
    named = {n for n, p in inspect.signature(keras.layers.Layer.__init__).parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "self"}
    return frozenset(named | {"input_dim", "input_shape", "batch_input_shape", "batch_size",
                              "weights"})


class Block(keras.layers.Layer):
    """Base class of all keras_defer blocks. Subclasses define ``forward``."""

    def __init__(self, prefix=None, params=None, **kwargs):
        if prefix is not None and not isinstance(prefix, str):
            raise TypeError("prefix must be a str, got %r" % (prefix,))
        if params is not None and not isinstance(params, ParameterDict):
            raise TypeError(
                "params must be a ParameterDict (e.g. other_block.params), got %r" % (params,)
            )
        unknown = sorted(set(kwargs) - _keras_layer_kwargs())
        if unknown:  # refuse before a name is drawn, in our words rather than Keras's
            raise TypeError(
                "%s got unknown argument(s) %s. It takes its own (Gluon's) arguments plus "
                "Keras layer ones: %s." % (type(self).__name__, ", ".join(
                    "%s=%r" % (k, kwargs[k]) for k in unknown),
                    ", ".join(sorted(_keras_layer_kwargs())))
            )
        full_prefix, local_prefix, parent = naming.allocate_prefix(
            prefix, self._alias()
        )
        kwargs.setdefault("name", full_prefix[:-1] if full_prefix.endswith("_") else full_prefix)
        if not kwargs["name"]:
            kwargs.pop("name")
        super().__init__(**kwargs)
        object.__setattr__(self, "_children", OrderedDict())
        object.__setattr__(self, "_reg_params", OrderedDict())
        object.__setattr__(self, "_prefix", full_prefix)
        if params is not None:
            own = ParameterDict(params.prefix, params)
        elif parent is not None:
            own = ParameterDict(parent.prefix + local_prefix, parent._shared)
        else:
            own = ParameterDict(full_prefix)
        object.__setattr__(self, "_params", own)
        object.__setattr__(self, "_scope", naming.NameScope(self))
        object.__setattr__(self, "_compiled_call", None)

    # -- structure -----------------------------------------------------------------
    def _alias(self):
        """The name hint for this block's prefix (``dense`` -> ``dense0_``)."""
        return type(self).__name__.lower()

    @property
    def prefix(self):
        return self._prefix

    @property
    def params(self):
        """This block's own parameters (not its children's: see ``collect_params``)."""
        return self._params

    def name_scope(self):
        """``with self.name_scope():`` names children created inside under this block."""
        return self._scope

    def __setattr__(self, name, value):
        if name in keras_compat.BUILD_BOOKKEEPING:
            # Keras's build wrapper sets these on every build; they hold no state to
            # track, and its tracking setattr costs ~20 us each (a tenth of a deep
            # net's first pass)
            object.__setattr__(self, name, value)
            return
        children = self.__dict__.get("_children")
        if children is not None:
            existing = self.__dict__.get(name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise TypeError(
                    "Changing attribute type for %s from %s to %s is not allowed."
                    % (name, type(existing), type(value))
                )
            if isinstance(value, Block):
                self.register_child(value, name)
            elif isinstance(value, Parameter):
                if name in self._reg_params:
                    raise ValueError(
                        "Overriding Parameter attribute %s is not allowed. To share "
                        "parameters between blocks, pass 'params' at construction." % name
                    )
                self._reg_params[name] = value
                if self not in value._owners:
                    value._owners.append(self)
        super().__setattr__(name, value)

    def register_child(self, block, name=None):
        """Add ``block`` as a child (forward order is registration order)."""
        if not isinstance(block, Block):
            raise TypeError("Expected a keras_defer Block, got %r" % (block,))
        if name is None:
            name = str(len(self._children))
        self._children[name] = block
        parents = block.__dict__.setdefault("_parents", [])
        if not any(ref() is self for ref in parents):
            parents.append(weakref.ref(self))
        keras_compat.track_sublayer(self, block)

    def _iter_blocks(self):
        yield self
        for child in self._children.values():
            yield from child._iter_blocks()

    def collect_params(self, select=None):
        """This block's and all descendants' parameters, in structure order, each once.
        ``select`` is a regular expression matched at the start of each name."""
        pattern = _compile_select(self.name, select) if select else None
        ret = ParameterDict(self._params.prefix)
        self._collect_into(ret, pattern, select)
        return ret

    def _collect_into(self, out, pattern, select):
        # One dict for the whole tree: a dict per level, merged upwards, made
        # collect_params a third of initialize() on a deep net. A child that
        # overrides collect_params is still asked, as Gluon asks every child.
        out.update(self._params if pattern is None else
                   {n: p for n, p in self._params.items() if pattern.match(n)})
        for child in self._children.values():
            if type(child).collect_params is Block.collect_params:
                child._collect_into(out, pattern, select)
            else:
                out.update(child.collect_params(select=select))

    def _collect_params_with_prefix(self, prefix=""):
        """``{'0.weight': Parameter, ...}``: the structural names (attribute paths)
        ``save_parameters`` writes, as Gluon 1.9.1's method of the same name."""
        from keras_defer.serialization import structural_params

        return structural_params(self, prefix + "." if prefix else "")

    def share_parameters(self, shared):
        """Make this block (and its children) use the Parameters in ``shared``.

        Gluon 2.0's API on Gluon 1.9.1's semantics. ``shared`` maps names to
        Parameters (a dict, a ``ParameterDict``, or a Block, meaning its
        ``_collect_params_with_prefix()``). A name is, in this order of precedence:

        * a structural name of this block (``'weight'``, ``'0.weight'``): that position;
        * the full Gluon name of a parameter of this block (``'dense1_weight'``):
          every position holding it;
        * for a ``ParameterDict``, a name whose dict prefix, removed, is a structural
          name: so ``dense1.share_parameters(dense0.collect_params())`` works.

        Afterwards each matched position holds the given Parameter itself (one Keras
        variable, keeping its name); the one it replaces is left to its other users.
        Deferred shapes merge: whichever block runs its first pass first initializes
        the shared Parameter, once. Sharing into a block whose first pass is done
        finishes the shared Parameter's pending initialization now, with the known
        shape. All-or-nothing: an unknown name (``KeyError``), a value that is not a
        Parameter (``TypeError``), a dtype (``ValueError``) or shape
        (``ShapeMismatchError``) that does not fit, or an initializer that raises,
        leaves everything as it was. Returns ``self``.

        Keras state built on the old variables (a compiled model's optimizer and
        train function) does not follow: share before ``compile()``, or compile
        again.
        """
        from keras_defer import errors

        if shared is None:
            return self
        if isinstance(shared, Block):
            shared = shared._collect_params_with_prefix()
        if not isinstance(shared, (dict, ParameterDict)):
            raise TypeError(
                "%s.share_parameters: shared must be a dict or ParameterDict of "
                "Parameters (e.g. other._collect_params_with_prefix()) or a Block, got %r"
                % (self.name, type(shared).__name__))
        with first_pass.lock():
            plan = self._plan_sharing(shared, errors)
            self._apply_sharing(*plan)
        return self

    def _plan_sharing(self, shared, errors):
        """Check everything and compute every value; change nothing."""
        structural = {}  # name -> (block, attr)
        by_name = OrderedDict()  # Gluon full name -> [(block, attr)]

        def walk(block, prefix):
            for attr, param in block._reg_params.items():
                if param is not None:
                    structural[prefix + attr] = (block, attr)
                    by_name.setdefault(param.name, []).append((block, attr))
            for key, child in block._children.items():
                walk(child, prefix + key + ".")

        walk(self, "")
        strip = shared.prefix if isinstance(shared, ParameterDict) else ""
        targets, unknown = OrderedDict(), []
        for key, new in shared.items():
            if not isinstance(new, Parameter):
                raise TypeError("%s.share_parameters: shared['%s'] must be a Parameter, "
                                "got %r" % (self.name, key, new))
            if key in structural:
                spots = [structural[key]]
            elif key in by_name:
                spots = by_name[key]
            elif strip and key.startswith(strip) and key[len(strip):] in structural:
                spots = [structural[key[len(strip):]]]
            else:
                unknown.append(key)
                continue
            for block, attr in spots:
                spot = (id(block), attr)
                if spot in targets and targets[spot][3] is not new:
                    raise ValueError(
                        "%s.share_parameters: '%s' of block '%s' is matched by two names "
                        "with different Parameters ('%s' and '%s')"
                        % (self.name, attr, block.name, targets[spot][3].name, new.name))
                targets[spot] = (block, attr, block._reg_params[attr], new)
        if unknown:
            raise KeyError(
                "%s.share_parameters: no parameter of this block is named %s. Names are "
                "structural (%s) or Gluon names (%s); to share between two nets give "
                "other._collect_params_with_prefix() or the other block itself. Nothing "
                "was shared." % (self.name, ", ".join(repr(k) for k in unknown),
                                 ", ".join(repr(k) for k in list(structural)[:6]),
                                 ", ".join(repr(k) for k in list(by_name)[:6])))
        swaps = [t for t in targets.values() if t[2] is not t[3]]
        shapes = OrderedDict()  # id(new) -> [new, merged shape, needs a value now]
        for block, attr, old, new in swaps:
            if np.dtype(old.dtype) != np.dtype(new.dtype):
                raise ValueError(
                    "%s.share_parameters: cannot share Parameter '%s' (dtype %s) as '%s' "
                    "of block '%s' (Parameter '%s', dtype %s). Nothing was shared."
                    % (self.name, new.name, np.dtype(new.dtype).name, attr, block.name,
                       old.name, np.dtype(old.dtype).name))
            entry = shapes.setdefault(id(new), [new, new.shape, False])
            merged = (old.shape if entry[1] is None else entry[1] if old.shape is None
                      else merge_shapes(entry[1], old.shape))
            if merged is None:
                raise errors.ShapeMismatchError(
                    "%s.share_parameters: cannot share Parameter '%s' of shape %s as '%s' "
                    "of block '%s', which holds Parameter '%s' of shape %s: the shapes "
                    "are incompatible (0 = not known yet). Nothing was shared."
                    % (self.name, new.name, entry[1], attr, block.name, old.name, old.shape))
            entry[1] = merged
            entry[2] = entry[2] or old.variable is not None or block.built
        values = []
        for new, merged, needed in shapes.values():
            if (needed and new.variable is None and new.pending is not None
                    and shape_is_known(merged)):
                saved = new._shape
                new._shape = merged
                try:
                    values.append((new, new._initial_value(new.pending)))
                finally:
                    new._shape = saved
        return swaps, [(new, merged) for new, merged, _ in shapes.values()], values

    def _apply_sharing(self, swaps, shapes, values):
        for new, merged in shapes:
            if new.variable is None:
                new._shape = merged
        for new, value in values:
            new._store(value, new.pending.ctx)
            new.pending = None
        touched = OrderedDict()
        for block, attr, old, new in swaps:
            block._reg_params[attr] = new
            if block.__dict__.get(attr) is old:
                object.__setattr__(block, attr, new)
            touched.setdefault(id(block), (block, []))[1].append((old, new))
        for block, pairs in touched.values():
            held = {id(p) for p in block._reg_params.values() if p is not None}
            replace = {id(old): new for old, new in pairs if id(old) not in held}
            entries = OrderedDict()
            for key, param in block._params._params.items():
                if id(param) in replace:
                    param = replace[id(param)]
                    key = param.name
                entries.setdefault(key, param)
            for old, new in pairs:
                if new.name not in entries:
                    entries[new.name] = new
            block._params._params.clear()
            block._params._params.update(entries)
            for old, new in pairs:
                if id(old) not in held:
                    if block in old._owners:
                        old._owners.remove(block)
                    if old.variable is not None:
                        keras_compat.untrack_variable([block], old.variable)
                if block not in new._owners:
                    new._owners.append(block)
                if new.variable is not None:
                    keras_compat.track_variable(block, new.variable)
            keras_compat.sort_tracked(block)
            block._forget_compiled_state()

    def _forget_compiled_state(self):
        """Drop what was made from the old variables: fast-path plans and compiled
        graphs, of this block and of every block that contains it."""
        pending, seen = [self], set()
        while pending:
            block = pending.pop()
            if id(block) in seen:
                continue
            seen.add(id(block))
            if block.__dict__.get("_fast_plan") is not None:
                object.__setattr__(block, "_fast_plan", None)
            if block._compiled_call is not None:
                from keras_defer import hybrid

                object.__setattr__(block, "_compiled_call", hybrid.compile_call(
                    block, **block.__dict__.get("_hybrid_options", {})))
            pending.extend(ref() for ref in block.__dict__.get("_parents", ())
                           if ref() is not None)

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False,
                   force_reinit=False):
        """Initialize known shapes now; register ``init`` for the rest (first pass)."""
        with first_pass.lock():
            self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Compile the forward of every HybridBlock in this block (tf.function on
        TensorFlow, jax.jit on JAX; eager elsewhere)."""
        for child in self._children.values():
            child.hybridize(active, **kwargs)

    def cast(self, dtype):
        for child in self._children.values():
            child.cast(dtype)
        for param in self._params.values():
            param.cast(dtype)

    def save_parameters(self, filename, deduplicate=False):
        from keras_defer import serialization

        serialization.save_parameters(self, filename, deduplicate)

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
                        cast_dtype=False, dtype_source="current"):
        from keras_defer import serialization

        serialization.load_parameters(
            self, filename, ctx=ctx, allow_missing=allow_missing, ignore_extra=ignore_extra,
            cast_dtype=cast_dtype, dtype_source=dtype_source,
        )

    # -- the forward pass ----------------------------------------------------------
    def forward(self, *args):
        """Override to define the computation (Gluon's ``forward``)."""
        raise NotImplementedError("%s must define forward()" % type(self).__name__)

    def call(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    if keras.backend.backend() == "torch":  # torch.nn.Module.__call__ must reach call()
        _call_impl = keras_compat.torch_module_call

    def __call__(self, *args, **kwargs):
        if not self.built:
            with first_pass.transaction(self):
                if not self.built:  # another thread may have finished it meanwhile
                    self._prepare_first_pass(args)
                    if not kwargs:
                        # Everything is built and initialized now: a plannable net runs
                        # its whole plan at once, instead of each child making its own
                        out = fast_path.call(self, args)
                        if out is not fast_path.MISS:
                            self._called = True  # what Layer.__call__ would have set
                            return out
                return self._keras_call(*args, **kwargs)
        if in_compiled_call():
            return self._built_call(args, kwargs)
        # A writer (initialize, load_parameters, another thread's first pass) may
        # change values while we read them: then compute again, holding its lock.
        token = first_pass.read_begin()
        try:
            out = self._built_call(args, kwargs)
        except Exception:
            if token is None or first_pass.read_valid(token):
                raise
        else:
            if token is None or first_pass.read_valid(token):
                return out
        with first_pass.exclusive():
            return self.__call__(*args, **kwargs)

    def _built_call(self, args, kwargs):
        if not self.built:  # a failed first pass elsewhere rolled this block back
            return self.__call__(*args, **kwargs)
        compiled = self._compiled_call
        if compiled is not None and not in_compiled_call():
            return compiled(*args, **kwargs)
        if not kwargs:
            out = fast_path.call(self, args)  # built, eager, plain tensor: skip Keras
            if out is not fast_path.MISS:
                return out
        return self._keras_call(*args, **kwargs)

    def _keras_call(self, *args, **kwargs):
        return super().__call__(*args, **kwargs)

    def _prepare_first_pass(self, args):
        params = self.collect_params().values()
        symbolic = any(isinstance(a, keras.KerasTensor) for a in args)
        for param in params:
            if param.variable is None and param.pending is None:
                if symbolic:
                    # A Keras model is being built symbolically (functional API,
                    # keras.Sequential): behave like a Keras layer and use defaults.
                    param.initialize()
                else:
                    param._check_initialized()  # raises Gluon's RuntimeError
        if not args or not hasattr(args[0], "shape"):
            raise TypeError(
                "%s expects a tensor as its first input, got %r" % (self.name, args[:1])
            )
        object.__setattr__(self, "_input_shapes", [_input_shape(a) for a in args
                                                   if hasattr(a, "shape")])
        self.build(_input_shape(args[0]))
        finish_pending_inits([p for p in params if shape_is_known(p.shape)])

    def build(self, input_shape):
        """Keras's build: fix the unknown dims of this block's parameters."""
        shapes = self.__dict__.pop("_input_shapes", None) or [input_shape]
        self.infer_shape(*shapes)

    def infer_shape(self, *input_shapes):
        """Hook: set the unknown (0) dims of this block's parameters from the input
        shapes. Containers use ``compute_output_shape`` of their children instead."""

    def _build_and_output_shape(self, input_shape):
        """Build this block from ``input_shape`` and return its output shape, or
        ``None`` when that cannot be known without running ``forward``."""
        if not self.built:
            object.__setattr__(self, "_input_shapes", [input_shape])
            self.build(input_shape)
        else:
            self._check_input_shape(input_shape)
        return self._static_output_shape(input_shape)

    def _static_output_shape(self, input_shape):
        """This block's output shape for ``input_shape`` without running it, or ``None``.

        Blocks with ``compute_output_shape`` answer directly; a parameter-free block
        without it (a ``Lambda``) is traced symbolically, so the first pass can still
        infer every later shape before any initializer runs.
        """
        if type(self).compute_output_shape is not keras.layers.Layer.compute_output_shape:
            return tuple(self.compute_output_shape(input_shape))
        if self._params or self._children:
            return None
        try:
            spec = keras.layers.Layer.compute_output_spec(
                self, keras.KerasTensor(input_shape, dtype=self.compute_dtype))
        except Exception:  # noqa: BLE001 - not traceable: the forward will tell
            return None
        return tuple(spec.shape) if isinstance(spec, keras.KerasTensor) else None

    def _check_input_shape(self, input_shape):
        """Raise ``ShapeMismatchError`` if ``input_shape`` contradicts fixed params."""

    def compute_output_spec(self, *args, **kwargs):
        # Keras derives shapes from named call() arguments; ours is call(*args), so
        # hand it the first input's shape when this block can compute its output.
        if args and hasattr(args[0], "shape") and (
                type(self).compute_output_shape is not keras.layers.Layer.compute_output_shape):
            shape = self._static_output_shape(tuple(args[0].shape))
            if shape is not None:
                return keras.KerasTensor(shape, dtype=self.compute_dtype)
        return super().compute_output_spec(*args, **kwargs)

    # -- Keras citizenship ------------------------------------------------------------
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        keras_saving.register(cls)

    def get_config(self):
        return keras_saving.block_config(self, super().get_config())

    def save_own_variables(self, store):
        keras_saving.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras_saving.load_own_variables(self, store)

    def build_from_config(self, config):
        keras_saving.build_from_config(self, config)

    def count_params(self):
        """Scalars in all parameters; deferred dims count as 0 until the first pass
        (``deferred_param_names()`` says which are still incomplete)."""
        seen, total = set(), 0
        for param in self.collect_params().values():
            if id(param) not in seen:
                seen.add(id(param))
                total += int(np.prod(param.shape)) if param.shape else 0
        return total

    def deferred_param_names(self):
        """Names of parameters whose shape is not known yet."""
        return [n for n, p in self.collect_params().items() if not shape_is_known(p.shape)]

    # -- copying -------------------------------------------------------------------
    def __deepcopy__(self, memo):
        """An independent net with the same names, shapes, values and pending inits.

        Keras models copy themselves through ``.keras`` serialization, which would
        lose Gluon's state; so copy attribute by attribute, giving every parameter a
        fresh variable and every block fresh Keras ``build`` wrappers.
        """
        import copy

        for param in self.collect_params().values():
            if param.variable is not None and id(param.variable) not in memo:
                memo[id(param.variable)] = keras_compat.clone_variable(param.variable)
        for value in list(self.__dict__.values()):
            if isinstance(value, keras.random.SeedGenerator) and id(value) not in memo:
                # a SeedGenerator holds the backend module, which cannot be copied
                twin = keras.random.SeedGenerator(seed=0)
                twin.state.assign(value.state.value)
                memo[id(value)], memo[id(value.state)] = twin, twin.state
        cls = type(self)
        new = cls.__new__(cls)  # Keras wraps build/quantize for the new object here
        memo[id(self)] = new
        fresh = {k: new.__dict__[k] for k in ("build", "quantize") if k in new.__dict__}
        for key, value in self.__dict__.items():
            if key in fresh:
                continue
            if key == "_compiled_call":
                value = None
            elif key == "_parents":  # the copies of the parents copied along with it
                value = [weakref.ref(memo[id(ref())]) for ref in value
                         if ref() is not None and id(ref()) in memo]
            elif key == "_scope":
                value = naming.NameScope(new)
            else:
                value = copy.deepcopy(value, memo)
            object.__setattr__(new, key, value)
        if new._compiled_call is None and self._compiled_call is not None:
            new.hybridize()
        return new

    # -- display -------------------------------------------------------------------
    def __repr__(self):
        modstr = "\n".join(
            "  ({key}): {block}".format(key=key, block=_indent(repr(block), 2))
            for key, block in self.__dict__.items()
            if isinstance(block, Block) and not key.startswith("_")
        )
        return "{name}(\n{modstr}\n)".format(name=type(self).__name__, modstr=modstr)

    def __str__(self):
        return self.__repr__()


class HybridBlock(Block):
    """A block whose forward can be compiled by ``hybridize()``."""

    def hybridize(self, active=True, **kwargs):
        from keras_defer import hybrid

        object.__setattr__(self, "_hybrid_options", dict(kwargs))
        object.__setattr__(self, "_compiled_call", hybrid.compile_call(self, **kwargs)
                           if active else None)
        super().hybridize(active, **kwargs)

    def forward(self, x, *args):
        if type(self).hybrid_forward is HybridBlock.hybrid_forward:
            raise NotImplementedError("%s must define forward() or hybrid_forward()"
                                      % type(self).__name__)
        params = {name: p.data() for name, p in self._reg_params.items() if p is not None}
        return self.hybrid_forward(keras.ops, x, *args, **params)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Override with Gluon's signature; ``F`` is ``keras.ops``."""
        raise NotImplementedError


def check_fixed_dim(block, param, axis, given, hint):
    """Fill dim ``axis`` of ``param`` from ``given`` if unknown, else check it."""
    shape = param.shape
    if shape[axis] == 0:
        new = list(shape)
        new[axis] = given
        param.shape = tuple(new)
    elif shape[axis] != given:
        expected = list(shape)
        expected[axis] = given
        from keras_defer.errors import shape_mismatch_message

        raise ShapeMismatchError(
            shape_mismatch_message(block.name, param.name, shape, expected, hint)
        )
