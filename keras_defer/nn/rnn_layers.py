"""Gluon's fused recurrent layers: ``RNN``, ``LSTM``, ``GRU``.

Parameter names, shapes, order and gate layout are MXNet's, so weights move
between the two frameworks unchanged and give the same numbers: per layer ``i`` and
direction ``l`` (forward) / ``r`` (backward), ``{d}{i}_i2h_weight (gates*hidden,
input)``, ``{d}{i}_h2h_weight (gates*hidden, hidden)``, ``{d}{i}_i2h_bias``,
``{d}{i}_h2h_bias``. Gates are stacked in MXNet's order: LSTM ``i, f, c, o``; GRU
``r, z, n`` with ``n = tanh(i2h_n + r * h2h_n)``. ``input_size=0`` defers the first
layer's input width to the first pass.

Calling ``layer(x)`` returns the output only; ``layer(x, states)`` returns
``(output, new_states)``, as in Gluon. Layouts: 'TNC' (default) or 'NTC'. The time
loop is ``keras.ops.scan`` (the sequence length may vary, also under hybridize),
which keeps it on every Keras backend.
"""

import warnings

import keras

from keras_defer.block import Block, HybridBlock
from keras_defer.shapes import check_fixed_dim
from keras_defer.errors import ShapeMismatchError
from keras_defer import validation as _c

__all__ = ["RNN", "LSTM", "GRU"]

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


class _RNNLayer(HybridBlock):
    def __init__(self, hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                 i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                 h2h_bias_initializer, mode, dtype, **kwargs):
        # All checked before a name is drawn. MXNet checks only the layout here (an
        # AssertionError, after its name is drawn); hidden_size=0, dropout=1.5 or
        # input_size=-1 pass its constructor, num_layers=0 fails with an AttributeError.
        cls = type(self).__name__
        hidden_size = _c.check_int(cls, "hidden_size", hidden_size, 1)
        num_layers = _c.check_int(cls, "num_layers", num_layers, 1)
        input_size = _c.check_int(cls, "input_size", input_size, 0)
        layout = _c.check_choice(cls, "layout", layout, ("TNC", "NTC"))
        dropout = _c.check_real(cls, "dropout", dropout, 0, 1, high_open=True)
        bidirectional = _c.check_bool(cls, "bidirectional", bidirectional)
        for arg, value in (("i2h_weight_initializer", i2h_weight_initializer),
                           ("h2h_weight_initializer", h2h_weight_initializer),
                           ("i2h_bias_initializer", i2h_bias_initializer),
                           ("h2h_bias_initializer", h2h_bias_initializer)):
            _c.check_initializer(cls, arg, value)
        _c.check_dtype(cls, "dtype", dtype)
        super().__init__(**kwargs)
        self._hidden_size = hidden_size
        self._num_layers = num_layers
        self._mode = mode
        self._layout = layout
        self._dropout = dropout
        self._dir = 2 if bidirectional else 1
        self._input_size = input_size
        self._dtype = dtype
        self._gates = _GATES[mode]
        if dropout:
            self.seed_generator = keras.random.SeedGenerator()
        ng, ni, nh = self._gates, input_size, hidden_size
        for i in range(num_layers):
            for j in ["l", "r"][:self._dir]:
                self._register_param("%s%d_i2h_weight" % (j, i), (ng * nh, ni),
                                     i2h_weight_initializer, dtype)
                self._register_param("%s%d_h2h_weight" % (j, i), (ng * nh, nh),
                                     h2h_weight_initializer, dtype)
                self._register_param("%s%d_i2h_bias" % (j, i), (ng * nh,),
                                     i2h_bias_initializer, dtype)
                self._register_param("%s%d_h2h_bias" % (j, i), (ng * nh,),
                                     h2h_bias_initializer, dtype)
            ni = nh * self._dir

    def _register_param(self, name, shape, init, dtype):
        param = self.params.get(name, shape=shape, init=init, allow_deferred_init=True,
                                dtype=dtype)
        setattr(self, name, param)
        return param

    # -- shapes ------------------------------------------------------------------
    def infer_shape(self, input_shape, *rest):
        if len(input_shape) != 3:
            raise ShapeMismatchError("%s: expected a 3-d input in layout %s, got shape %s"
                                     % (self.name, self._layout, tuple(input_shape)))
        features = input_shape[2]
        if features is None:
            raise ShapeMismatchError("%s: the feature dimension of the input must be known, "
                                     "got shape %s" % (self.name, tuple(input_shape)))
        if self._layout == "TNC" and input_shape[0] is None and input_shape[1] is not None:
            warn_batch_as_time(self, input_shape)
        for direction in ["l", "r"][:self._dir]:
            check_fixed_dim(
                self, getattr(self, direction + "0_i2h_weight"), 1, int(features),
                "Feed inputs with %s features (the C of %s), or create the layer with a "
                "matching input_size." % (self.l0_i2h_weight.shape[1], self._layout))

    def _check_input_shape(self, input_shape):
        self.infer_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2]) + (self._hidden_size * self._dir,)

    def state_info(self, batch_size=0):
        shape = (self._num_layers * self._dir, batch_size, self._hidden_size)
        return [{"shape": shape, "__layout__": "LNC", "dtype": self._dtype}
                for _ in range(2 if self._mode == "lstm" else 1)]

    def begin_state(self, batch_size=0, func=None, **kwargs):
        """Initial states: zeros of ``state_info(batch_size)`` (or ``func(shape=...)``)."""
        if func is None:
            return [keras.ops.zeros(info["shape"], dtype=info["dtype"])
                    for info in self.state_info(batch_size)]
        return [func(shape=info["shape"], **kwargs) for info in self.state_info(batch_size)]

    # -- computation ---------------------------------------------------------------
    def call(self, inputs, states=None, training=None):
        # a subclass's forward may take NDArrays
        return Block.call(self, inputs, states, training=training)

    def forward(self, inputs, states=None, training=None):
        if inputs.shape[2] is not None and inputs.shape[2] != self.l0_i2h_weight.shape[1]:
            self.infer_shape(tuple(inputs.shape))  # raises a ShapeMismatchError naming all
        skip_states = states is None
        if self._layout == "NTC":
            inputs = keras.ops.swapaxes(inputs, 0, 1)
        if skip_states:
            batch = keras.ops.shape(inputs)[1]
            states = [keras.ops.zeros((self._num_layers * self._dir, batch,
                                       self._hidden_size), inputs.dtype)
                      for _ in self.state_info()]
        else:
            if not isinstance(states, (list, tuple)):
                states = [states]
            self._check_states(states, inputs)
        outputs, new_states = self._unroll(inputs, list(states), training)
        if self._layout == "NTC":
            outputs = keras.ops.swapaxes(outputs, 0, 1)
        return outputs if skip_states else (outputs, new_states)

    def _check_states(self, states, inputs):
        batch = inputs.shape[1]
        expected = [info["shape"] for info in self.state_info(batch)]
        given = [tuple(s.shape) for s in states]
        if len(given) != len(expected) or any(
                None not in g and g != e for g, e in zip(given, expected)):
            raise ValueError("Invalid recurrent state shape. Expecting %s, got %s."
                             % (expected if len(expected) > 1 else expected[0],
                                given if len(given) > 1 else given[0]))

    def _unroll(self, inputs, states, training):
        x = inputs
        final = [[] for _ in states]
        for layer in range(self._num_layers):
            if layer and self._dropout and training:
                x = keras.random.dropout(x, self._dropout, seed=self.seed_generator)
            outs = []
            for d, direction in enumerate(["l", "r"][:self._dir]):
                index = layer * self._dir + d
                state = [s[index] for s in states]
                seq = x if d == 0 else keras.ops.flip(x, axis=0)
                ys, state = self._run_direction("%s%d" % (direction, layer), seq, state)
                outs.append(ys if d == 0 else keras.ops.flip(ys, axis=0))
                for k, s in enumerate(state):
                    final[k].append(s)
            x = keras.ops.concatenate(outs, axis=-1) if len(outs) > 1 else outs[0]
        return x, [keras.ops.stack(f, axis=0) for f in final]

    def _run_direction(self, prefix, seq, state):
        """Scan one direction of one layer over time (axis 0 of ``seq``)."""
        w_i = keras.ops.transpose(getattr(self, prefix + "_i2h_weight").variable)
        w_h = keras.ops.transpose(getattr(self, prefix + "_h2h_weight").variable)
        b_i = getattr(self, prefix + "_i2h_bias").variable
        b_h = getattr(self, prefix + "_h2h_bias").variable
        # the input projection of every step at once; only h2h is sequential
        i2h_all = keras.ops.matmul(seq, w_i) + b_i

        def step(carry, i2h):
            new = tuple(self._cell(i2h, keras.ops.matmul(carry[0], w_h) + b_h, carry))
            # Keras's TF scan wants the per-step output shaped like the carry
            return new, new

        state, ys = keras.ops.scan(step, tuple(state), i2h_all)
        return ys[0], list(state)

    def __repr__(self):
        s = "{name}({mapping}, {layout}"
        if self._num_layers != 1:
            s += ", num_layers={num_layers}"
        if self._dropout != 0:
            s += ", dropout={dropout}"
        if self._dir == 2:
            s += ", bidirectional"
        s += ")"
        shape = self.l0_i2h_weight.shape
        mapping = "{0} -> {1}".format(shape[1] if shape[1] else None, shape[0] // self._gates)
        return s.format(name=type(self).__name__, mapping=mapping, layout=self._layout,
                        num_layers=self._num_layers, dropout=self._dropout)


    def _structural_params(self):
        """Gluon 1.9.1's file names for the fused layer's parameters (what its
        ``_collect_params_with_prefix`` writes, "for compatibility with old parameter
        format"): ``_unfused.0.i2h_weight``, or ``_unfused.0.l_cell.i2h_weight`` when
        bidirectional, for ``l0_i2h_weight``."""
        unfused = {}
        for key, param in self._reg_params.items():
            direction, layer, kind = key[0], key[1:key.index("_")], key[key.index("_") + 1:]
            if self._dir == 2:
                unfused["_unfused.%s.%s_cell.%s" % (layer, direction, kind)] = param
            else:
                unfused["_unfused.%s.%s" % (layer, kind)] = param
        return unfused


class RNN(_RNNLayer):
    """Elman RNN: ``h = act(W_i x + b_i + W_h h + b_h)``, act 'relu' or 'tanh'."""

    def __init__(self, hidden_size, num_layers=1, activation="relu", layout="TNC",
                 dropout=0, bidirectional=False, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", input_size=0, dtype="float32", **kwargs):
        # MXNet: a KeyError 'rnn_<activation>' after the name is drawn
        _c.check_choice("RNN", "activation", activation, ("relu", "tanh"))
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, "rnn_" + activation,
                         dtype, **kwargs)

    def _cell(self, i2h, h2h, state):
        act = keras.ops.relu if self._mode == "rnn_relu" else keras.ops.tanh
        return [act(i2h + h2h)]


class LSTM(_RNNLayer):
    """Long short-term memory; states ``[h, c]``; gates in MXNet's order i, f, c, o."""

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0,
                 bidirectional=False, input_size=0, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, "lstm", dtype, **kwargs)

    def _cell(self, i2h, h2h, state):
        i, f, g, o = keras.ops.split(i2h + h2h, 4, axis=-1)
        c = keras.ops.sigmoid(f) * state[1] + keras.ops.sigmoid(i) * keras.ops.tanh(g)
        return [keras.ops.sigmoid(o) * keras.ops.tanh(c), c]


class GRU(_RNNLayer):
    """Gated recurrent unit; gates in MXNet's order r, z, n."""

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0,
                 bidirectional=False, input_size=0, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, "gru", dtype, **kwargs)

    def _cell(self, i2h, h2h, state):
        i_r, i_z, i_n = keras.ops.split(i2h, 3, axis=-1)
        h_r, h_z, h_n = keras.ops.split(h2h, 3, axis=-1)
        r = keras.ops.sigmoid(i_r + h_r)
        z = keras.ops.sigmoid(i_z + h_z)
        n = keras.ops.tanh(i_n + r * h_n)
        return [(1 - z) * n + z * state[0]]


def warn_batch_as_time(layer, input_shape):
    """Gluon's recurrent layers default to layout 'TNC' (time first); Keras's inputs
    are batch first, with an unknown (None) batch axis. A TNC layer built by Keras
    from ``(None, n, C)`` would run over the batch as if it were time, silently: MXNet
    never sees such a shape (its inputs are concrete), so this warning is ours."""
    warnings.warn(
        "%s %r has layout 'TNC' (time, batch, features: Gluon's default) but is built "
        "from the input shape %s, whose first axis is unknown as Keras's batch axis is: "
        "it would treat the batch as time and the %s steps as the batch. For Keras's "
        "batch-first inputs create it with layout='NTC' (%s(%d, layout='NTC')); "
        "if the first axis really is time, give it a known size "
        "(keras.Input(batch_shape=(T, N, C)))."
        % (type(layer).__name__, layer.name, tuple(input_shape), input_shape[1],
           type(layer).__name__, layer._hidden_size), UserWarning, stacklevel=2)
