"""The eager fast path: built blocks called with a plain tensor skip ``Layer.__call__``.

Keras's ``Layer.__call__`` costs about 250 us per layer on a 2-core CPU (input
conversion, call-spec binding, call context, name and autocast scopes, masks), while
the computation of a small ``Dense`` is three TensorFlow ops (~20 us each). Once a
block's first pass is done none of that work changes the result *when*:

* the call is eager and its only argument is an ``EagerTensor`` of the block's
  compute dtype (no ``training=`` or other keyword, no KerasTensor, no numpy);
* no Keras autocast, stateless or symbolic scope and no distribution is active, and
  every block of the plan has ``compute_dtype == variable_dtype`` (no mixed
  precision);
* every block of the plan is exactly one whose forward we know (``Dense``,
  ``Activation``, a ``Sequential``/``HybridSequential`` of such), built, and not
  hybridized (a hybridized block runs its compiled graph instead).

A *plan* is the block's forward flattened into a list of steps holding the raw
``tf.Variable`` objects, made once and re-validated on every call (each parameter
still has the same variable, each container the same children), so a later
``cast``, ``load_parameters``, ``add`` or ``hybridize`` is never missed. Anything
else, or any TensorFlow error while running the plan (e.g. a wrong feature size),
returns ``MISS`` and the caller takes the ordinary Keras path, which raises
keras_defer's own errors. The plan only reads variables, so falling back after a
failure changes nothing.

Only TensorFlow has a fast path; on other backends ``call`` always returns ``MISS``.
"""

import keras

MISS = object()
"""Returned by ``call`` when the fast path does not apply."""


def call(block, args):  # replaced below on TensorFlow
    return MISS


def matmul_transposed(x, weight):
    """``x @ weight.T`` (Gluon's Dense layout ``(units, in_units)``)."""
    return keras.ops.matmul(x, keras.ops.transpose(weight))


if keras.backend.backend() == "tensorflow":
    import tensorflow as tf
    from keras.src.backend.common import global_state
    from tensorflow.python.framework.ops import EagerTensor

    _state = global_state.GLOBAL_STATE_TRACKER
    _SCOPES = ("autocast_scope", "stateless_scope", "symbolic_scope", "distribution")
    _tf_matmul = tf.linalg.matmul

    # Keras activations whose default form is exactly one TF op.
    _RAW_ACTIVATIONS = {
        keras.activations.relu: tf.nn.relu,
        keras.activations.tanh: tf.math.tanh,
        keras.activations.linear: None,
    }

    def matmul_transposed(x, weight):  # noqa: F811  (one MatMul op, no Transpose)
        return _tf_matmul(x, weight, transpose_b=True)

    class _Unplannable(Exception):
        pass

    class _Plan:
        """``steps``: tuples ``(weight, bias, activation)``; any may be None."""

        __slots__ = ("steps", "dtype", "rank2", "params", "containers")

        def __init__(self, steps, dtype, params, containers):
            self.steps = tuple(steps)
            self.dtype = dtype
            self.rank2 = any(s[0] is not None for s in steps)
            self.params = tuple(params)
            self.containers = tuple(containers)

        def valid(self):
            for param, variable in self.params:
                if param.variable is not variable:
                    return False
            for block, children in self.containers:
                if block._compiled_call is not None or (
                    children is not None and tuple(block._children.values()) != children
                ):
                    return False
            return True

        def __deepcopy__(self, memo):
            return None  # a copied block plans again, on its own variables

    def _raw_variable(param, params):
        variable = param.variable
        if variable is None:
            raise _Unplannable
        params.append((param, variable))
        return variable.value  # the tf.Variable: no autocast/stateless scope is active

    def _activation_fn(act_block, containers, input_shape=None):
        from keras_defer.nn.basic_layers import Activation

        if type(act_block).forward is not Activation.forward:
            raise _Unplannable
        if not act_block.built:
            if input_shape is None:
                raise _Unplannable
            # A Dense's activation is built at its first call, inside the Dense's
            # first forward; it has no parameters, so build it here instead.
            act_block._build_and_output_shape(input_shape)
        if act_block._compiled_call is not None:
            raise _Unplannable
        containers.append((act_block, None))
        fn = act_block._fn
        return _RAW_ACTIVATIONS.get(fn, fn)

    def _plan_steps(block, steps, params, containers, dtypes):
        from keras_defer.block import Block
        from keras_defer.nn.basic_layers import Activation, Dense, _SequentialMixin

        cls = type(block)
        if (not block.built or block._compiled_call is not None
                or cls.__call__ is not Block.__call__
                or block.compute_dtype != block.variable_dtype):
            raise _Unplannable
        dtypes.add(block.compute_dtype)
        if cls.forward is Dense.forward and cls.call is Block.call:
            weight = _raw_variable(block.weight, params)
            bias = _raw_variable(block.bias, params) if block.bias is not None else None
            if weight.dtype.name != block.compute_dtype or len(weight.shape) != 2:
                raise _Unplannable
            act = None
            if block.act is not None:
                act = _activation_fn(block.act, containers, (None, int(weight.shape[0])))
            containers.append((block, None))
            steps.append((weight, bias, act))
        elif cls.forward is Activation.forward and cls.call is Block.call:
            fn = _activation_fn(block, containers)
            steps.append((None, None, fn))
        elif cls.forward is _SequentialMixin.forward and cls.call is _SequentialMixin.call:
            children = tuple(block._children.values())
            containers.append((block, children))
            for child in children:
                _plan_steps(child, steps, params, containers, dtypes)
        else:
            raise _Unplannable

    def _make_plan(block):
        steps, params, containers, dtypes = [], [], [], set()
        try:
            _plan_steps(block, steps, params, containers, dtypes)
        except _Unplannable:
            return None
        if len(dtypes) != 1:
            return None
        return _Plan(steps, tf.as_dtype(dtypes.pop()), params, containers)

    def _run(steps, x):
        for weight, bias, act in steps:
            if weight is not None:
                x = _tf_matmul(x, weight, transpose_b=True)
                if bias is not None:
                    x = x + bias
            if act is not None:
                x = act(x)
        return x

    def call(block, args):  # noqa: F811
        """``block(*args)`` computed by the plan, or ``MISS``."""
        if len(args) != 1:
            return MISS
        x = args[0]
        if type(x) is not EagerTensor:
            return MISS
        for scope in _SCOPES:
            if getattr(_state, scope, None) is not None:
                return MISS
        plan = block.__dict__.get("_fast_plan")
        if plan is None or not plan.valid():
            plan = _make_plan(block)
            object.__setattr__(block, "_fast_plan", plan)
            if plan is None:
                return MISS
        if x.dtype != plan.dtype or (plan.rank2 and x.shape.rank != 2):
            return MISS
        try:
            return _run(plan.steps, x)
        except (tf.errors.InvalidArgumentError, ValueError, TypeError):
            return MISS  # the Keras path raises keras_defer's own error
