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

import sys
import weakref
from collections import OrderedDict

import keras
import numpy as np

from keras_defer import backend, fast_path, first_pass, naming, nd
from keras_defer import init as initializer
from keras_defer import attributes, copying, hooks, keras_compat, keras_saving, ndarray_io
from keras_defer import multi_device, sharing, tree_walk
from keras_defer import validation
from keras_defer.backend import in_compiled_call
from keras_defer.nd.ndarray import NDArray
from keras_defer.parameter import Parameter, ParameterDict, finish_pending_inits
from keras_defer.shape_inference import ShapeInference
from keras_defer.shapes import shape_is_known

__all__ = ["Block", "HybridBlock"]


def _input_shape(x):
    return tuple(None if d is None else int(d) for d in x.shape)


class Block(ShapeInference, keras.layers.Layer):
    """Base class of all keras_defer blocks. Subclasses define ``forward``."""

    def __init__(self, prefix=None, params=None, **kwargs):
        if prefix is not None and not isinstance(prefix, str):
            raise TypeError("prefix must be a str, got %r" % (prefix,))
        if params is not None and not isinstance(params, ParameterDict):
            raise TypeError(
                "params must be a ParameterDict (e.g. other_block.params), got %r" % (params,)
            )
        # refuse before a name is drawn, in our words rather than Keras's
        validation.check_layer_kwargs(type(self).__name__, kwargs,
                                      keras_compat.layer_kwargs())
        full_prefix, local_prefix, parent = naming.allocate_prefix(
            prefix, self._alias()
        )
        gluon_name = full_prefix[:-1] if full_prefix.endswith("_") else full_prefix
        renamed = "name" not in kwargs and naming.keras_name(gluon_name) != gluon_name
        # a name Keras takes (``_scaledl10`` goes as ``gluon-_scaledl10``: naming.keras_name)
        kwargs.setdefault("name", naming.keras_name(gluon_name))
        if not kwargs["name"]:
            kwargs.pop("name")
        super().__init__(**kwargs)
        if renamed:
            attributes.store(self, "name", gluon_name)  # users read Gluon's name
        object.__setattr__(self, "_children", OrderedDict())
        object.__setattr__(self, "_reg_params", OrderedDict())
        object.__setattr__(self, "_prefix", full_prefix)
        object.__setattr__(self, "_empty_prefix", prefix == "")  # naming.NameScope
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
        # A name Keras uses too (``output``, ``weights``, ``built``...) assigned by user
        # code holds a Gluon value beside Keras's (``keras_defer.attributes``).
        shared = name in attributes.NAMES
        from_keras = shared and keras_compat.called_from_framework()
        gluon = shared and not from_keras and attributes.gluon_assignment(self, name, value)
        if name in keras_compat.BUILD_BOOKKEEPING and not gluon:
            # Keras's build wrapper sets these on every build; they hold no state to
            # track, and its tracking setattr costs ~20 us each (a tenth of a deep
            # net's first pass)
            object.__setattr__(self, name, value)
            return
        children = self.__dict__.get("_children")
        # Keras's own assignments (``compile`` sets ``self.loss``, possibly to a Gluon
        # loss block) are Keras state, never children of the block
        if children is not None and not from_keras:
            existing = attributes.gluon_value(self, name)
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
                value._add_owner(self)
        if gluon:
            attributes.store(self, name, value)
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name):
        if not (name in attributes.NAMES and not keras_compat.called_from_framework()
                and attributes.delete(self, name)):
            super().__delattr__(name)

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
        if backend.module_parameters is not None:  # torch: descendants' parameters
            backend.module_parameters.register_submodule(self, name, block)

    def register_forward_pre_hook(self, hook):
        """Call ``hook(block, inputs)`` before each forward of this block; returns a
        ``HookHandle`` (``detach()``). See ``keras_defer.hooks``."""
        return hooks.register_pre_hook(self, hook)

    def register_forward_hook(self, hook):
        """Call ``hook(block, inputs, output)`` after each forward of this block;
        returns a ``HookHandle`` (``detach()``)."""
        return hooks.register_hook(self, hook)

    def apply(self, fn):
        """Apply ``fn(block)`` to every child, recursively, then to this block (as
        Gluon, children first); returns this block."""
        # without recursion (tree_walk); a child that overrides apply is asked
        for block in tree_walk.postorder(
                self, expand=lambda b: b is self or type(b).apply is Block.apply):
            if block is self or type(block).apply is Block.apply:
                fn(block)
            else:
                block.apply(fn)
        return self

    def _iter_blocks(self):
        return tree_walk.preorder(self)

    def collect_params(self, select=None):
        """This block's and all descendants' parameters, in structure order, each once.
        ``select`` is a regular expression matched at the start of each name."""
        pattern = validation.check_select(self.name, select) if select else None
        ret = ParameterDict(self._params.prefix)
        self._collect_into(ret, pattern, select)
        return ret

    def _collect_into(self, out, pattern, select):
        # One dict for the whole tree: a dict per level, merged upwards, made
        # collect_params a third of initialize() on a deep net. A child that
        # overrides collect_params is still asked, as Gluon asks every child.
        # Without recursion (tree_walk): a stack, children in order.
        stack = [self]
        while stack:
            block = stack.pop()
            if block is not self and type(block).collect_params is not Block.collect_params:
                out.update(block.collect_params(select=select))
                continue
            out.update(block._params if pattern is None else
                       {n: p for n, p in block._params.items() if pattern.match(n)})
            stack.extend(reversed(list(block._children.values())))

    def _collect_params_with_prefix(self, prefix=""):
        """``{'0.weight': Parameter, ...}``: the structural names (attribute paths)
        ``save_parameters`` writes, as Gluon 1.9.1's method of the same name."""
        out, stack = {}, [(self, prefix + "." if prefix else "")]
        while stack:
            block, path = stack.pop()
            for attr, param in block._structural_params().items():
                if param is not None:
                    out[path + attr] = param
            stack.extend(reversed([(child, path + key + ".")
                                   for key, child in block._children.items()]))
        return out

    def _structural_params(self):
        """``{name: Parameter}`` of this block's own parameters under the names its
        structural paths end in (``_reg_params``' keys; a layer whose files name them
        otherwise, as Gluon's recurrent layers, says so here)."""
        return self._reg_params

    def share_parameters(self, shared):
        """Make this block (and its children) hold the Parameters in ``shared`` (a
        dict or ``ParameterDict`` of Parameters, or a Block): Gluon 2.0's API on Gluon
        1.9.1's semantics, all-or-nothing. Naming rules: ``keras_defer.sharing``.
        Returns ``self``."""
        sharing.share_parameters(self, shared)
        return self

    def _replace_parameters(self, replacements):
        """``[(attr, old, new)]``: this block holds ``new`` where it held ``old``
        (``share_parameters`` applies its plan through this, block by block)."""
        for attr, old, new in replacements:
            self._reg_params[attr] = new
            if self.__dict__.get(attr) is old:
                object.__setattr__(self, attr, new)
            attributes.replace(self, attr, old, new)
        held = {id(p) for p in self._reg_params.values() if p is not None}
        self._params._replace({id(old): new for _, old, new in replacements
                               if id(old) not in held},
                              [new for _, _, new in replacements])
        for _, old, new in replacements:
            if id(old) not in held:
                old._remove_owner(self)
            new._add_owner(self)
            if new.variable is not None:
                keras_compat.track_variable(self, new.variable)
        keras_compat.sort_tracked(self)
        self._forget_compiled_state()

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
                object.__setattr__(block, "_compiled_call", backend.compile_call(
                    block, **block.__dict__.get("_hybrid_options", {})))
            pending.extend(ref() for ref in block.__dict__.get("_parents", ())
                           if ref() is not None)

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False,
                   force_reinit=False):
        """Initialize known shapes now; register ``init`` for the rest (first pass)."""
        if backend.in_replica_context():  # strategy.run: once, the same on every replica
            return backend.once_for_all_replicas(lambda: self.initialize(
                init, ctx, verbose, force_reinit))
        with first_pass.lock():
            self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Compile the forward of every HybridBlock in this block (tf.function on
        TensorFlow, jax.jit on JAX; eager elsewhere)."""
        tree_walk.reach_children(self, "hybridize", active, **kwargs)

    def cast(self, dtype):
        # the children (without recursion: tree_walk), then this block's parameters
        for param in self._params.values():
            param.cast(dtype)
        tree_walk.reach_children(self, "cast", dtype)

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
    _forward_on_ndarrays = False
    """Whether ``forward`` computes on NDArrays (Gluon's ``forward``, written with ``nd``
    operations and NDArray methods) rather than on backend tensors with ``keras.ops``
    (keras_defer's own layers). True for a class outside keras_defer that defines
    ``forward`` or ``hybrid_forward`` (``__init_subclass__``); a class may set it
    itself. Keras still sees tensors: ``call`` wraps them and unwraps the result."""

    def forward(self, *args):
        """Override to define the computation (Gluon's ``forward``). It receives
        NDArrays and may return NDArrays; children called with NDArrays return
        NDArrays."""
        raise NotImplementedError("%s must define forward()" % type(self).__name__)

    def call(self, *args, **kwargs):
        if self._forward_on_ndarrays:
            return ndarray_io.forward_on_ndarrays(self, args, kwargs)
        return self.forward(*args, **kwargs)

    if backend.module_call is not None:  # torch.nn.Module.__call__ must reach call()
        _call_impl = backend.module_call
    if backend.module_parameters is not None:  # torch: variables as module parameters
        _track_variables = backend.module_parameters.track_variables
        _post_track_variable = backend.module_parameters.variable_tracked
        _post_untrack_variable = backend.module_parameters.variable_untracked
        named_parameters = backend.module_parameters.named_parameters

    @fast_path.plannable_call
    def __call__(self, *args, **kwargs):
        try:
            # MXNet's graph of this block; no Symbol exists until mx.sym was imported, so
            # importing keras_defer does not import it
            symbols = sys.modules.get("keras_defer.symbol.symbol")
            if symbols is not None and args and isinstance(args[0], symbols.Symbol):
                from keras_defer import export

                return export.call_symbolic(self, args, kwargs)
            if args and not hasattr(args[0], "shape"):  # before any hook, state or Keras
                raise TypeError(ndarray_io.not_a_tensor_message(self, args[0]))
            if "_export_graph" not in self.__dict__ and (self.__dict__.get("_active")
                                                          or not self.built):
                from keras_defer import export  # what export needs of MXNet's first graph

                export.note_call(self, args)
            if self.__dict__.get("_gluon_forward_hooks"):  # hooks.STATE: hooks run around it
                return hooks.hooked_call(self, args, kwargs)
            if args and isinstance(args[0], NDArray):
                if multi_device._active:  # parameters on several contexts: read args' copy
                    return multi_device.routed_call(self, args, lambda: (
                        ndarray_io.call_with_ndarrays(self, args, kwargs)))
                return ndarray_io.call_with_ndarrays(self, args, kwargs)
            if not self.built:
                with first_pass.transaction(self):
                    if not self.built:  # another thread may have finished it meanwhile
                        self._prepare_first_pass(args)
                        if not kwargs:
                            # Everything is built and initialized now: a plannable net runs
                            # its whole plan at once, instead of each child making its own
                            out = backend.fast_call(self, args)
                            if out is not backend.MISS:
                                keras_compat.mark_called(self)
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
        except RecursionError as error:
            # a net nested deeper than the recursion limit allows: the outermost
            # block call says so, with the depth and the limit (tree_walk)
            if isinstance(error, tree_walk.NestingDepthError) or _inside_block_call():
                raise
            raise tree_walk.nesting_error(self, error) from error

    def _built_call(self, args, kwargs):
        if not self.built:  # a failed first pass elsewhere rolled this block back
            return self.__call__(*args, **kwargs)
        compiled = self._compiled_call
        if compiled is not None and not in_compiled_call():
            return compiled(*args, **kwargs)
        if not kwargs:
            out = backend.fast_call(self, args)  # built, eager, plain tensor: skip Keras
            if out is not backend.MISS:
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
            raise TypeError(ndarray_io.not_a_tensor_message(self, args[0] if args else None))
        object.__setattr__(self, "_input_shapes", [_input_shape(a) for a in args
                                                   if hasattr(a, "shape")])
        self.build(_input_shape(args[0]))
        finish_pending_inits([p for p in params if shape_is_known(p.shape)])

    # -- Keras citizenship ------------------------------------------------------------
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        keras_saving.register(cls)
        own = vars(cls)
        if "_forward_on_ndarrays" not in own and ("forward" in own or "hybrid_forward" in own):
            module = cls.__module__ or ""
            cls._forward_on_ndarrays = not (module == "keras_defer"
                                            or module.startswith("keras_defer.")) \
                or module.startswith(keras_compat.GLUON_AUTHORED_MODULES)  # the zoo's

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
        """An independent net with the same names, shapes, values and pending inits
        (``keras_defer.copying``)."""
        return copying.copy_block(self, memo)

    # -- display -------------------------------------------------------------------
    def summary(self, *inputs, **kwargs):
        """Gluon's summary: run ``inputs`` through the net and print MXNet's table of
        each block's output shape and parameters (``keras_defer.summary``). Without
        inputs, or with Keras's arguments, a ``Sequential`` (a ``keras.Model``)
        prints Keras's summary instead."""
        if isinstance(self, keras.Model) and (
                kwargs or not inputs or inputs[0] is None
                or isinstance(inputs[0], (int, float, str)) or callable(inputs[0])):
            return keras.Model.summary(self, *inputs, **kwargs)
        if kwargs:
            raise TypeError("summary() takes the net's inputs only, got keyword arguments %s"
                            % sorted(kwargs))
        from keras_defer import summary

        summary.print_summary(self, *inputs)

    def __repr__(self):
        # Gluon's nested repr, made without recursion (tree_walk)
        return tree_walk.container_repr(self, repr_items)

    def __str__(self):
        return self.__repr__()


def repr_items(block):
    """``[(key, child)]`` Gluon's repr lists for ``block``, or None where its class
    prints itself (``tree_walk.container_repr``)."""
    method = type(block).__repr__
    if method is Block.__repr__:
        return attributes.gluon_items(block)
    return getattr(method, "container_items", lambda _: None)(block)


def _inside_block_call():
    """Whether a ``Block.__call__`` is on the stack above the caller's caller (so a
    RecursionError passing through is left to the outermost one to explain)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is Block.__call__.__code__:
            return True
        frame = frame.f_back
    return False


class HybridBlock(Block):
    """A block whose forward can be compiled by ``hybridize()``."""

    def hybridize(self, active=True, **kwargs):
        object.__setattr__(self, "_active", bool(active))  # Gluon's flag (summary reads it)
        self.__dict__.pop("_export_graph", None)  # MXNet drops its cached graph
        object.__setattr__(self, "_hybrid_options", dict(kwargs))
        object.__setattr__(self, "_compiled_call", backend.compile_call(self, **kwargs)
                           if active else None)
        super().hybridize(active, **kwargs)

    def forward(self, x, *args):
        if type(self).hybrid_forward is HybridBlock.hybrid_forward:
            raise NotImplementedError("%s must define forward() or hybrid_forward()"
                                      % type(self).__name__)
        params = {name: p.data() for name, p in self._reg_params.items() if p is not None}
        return self.hybrid_forward(nd, x, *args, **params)

    def export(self, path, epoch=0, remove_amp_cast=True, **keras_kwargs):
        """Write ``path-symbol.json`` and ``path-%04d.params`` (``epoch``) as MXNet
        1.9.1 does, for MXNet's or keras_defer's ``SymbolBlock.imports``; needs a
        ``hybridize()`` and a forward pass first (``keras_defer.export``). With Keras's
        ``format=`` (``"tf_saved_model"``), a model's Keras ``export`` runs instead."""
        if "format" in keras_kwargs and isinstance(self, keras.Model):
            return keras.Model.export(self, path, **keras_kwargs)
        if keras_kwargs:
            raise TypeError("export() got unexpected keyword arguments %s (MXNet's are "
                            "path, epoch, remove_amp_cast)" % sorted(keras_kwargs))
        from keras_defer import export

        export.export(self, path, epoch, remove_amp_cast)
        return None

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Override with Gluon's signature: ``F`` is ``keras_defer.nd``, the inputs
        are NDArrays and each parameter comes as a keyword argument, its ``data()``."""
        raise NotImplementedError
