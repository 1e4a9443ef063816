"""rnn.RNN, rnn.LSTM, rnn.GRU (Gluon 1.9.1 gluon/rnn/rnn_layer.py), layouts TNC and NTC."""

from dataclasses import dataclass

from conformance.arch.layer import Layer, known_or_none, source_args

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


@dataclass(frozen=True)
class Recurrent(Layer):
    mode: str                  # 'rnn' | 'lstm' | 'gru'
    hidden: int
    num_layers: int = 1
    bidirectional: bool = False
    input_size: int = 0
    layout: str = "TNC"        # or 'NTC' (batch-major): the same shapes, other time axis

    @property
    def class_name(self):
        return self.mode.upper()

    @property
    def hint(self):
        return self.mode

    @property
    def gates(self):
        return GATES[self.mode]

    @property
    def directions(self):
        return ["l", "r"][:2 if self.bidirectional else 1]

    def source(self, refs):
        return "rnn.%s(%s)" % (self.class_name, source_args(
            self.hidden, num_layers=(self.num_layers, 1),
            layout=(self.layout, "TNC"), bidirectional=(self.bidirectional, False),
            input_size=(self.input_size, 0)))

    def declared_params(self):
        out, ng, nh = [], self.gates * self.hidden, self.hidden
        ni = self.input_size
        for i in range(self.num_layers):
            for j in self.directions:
                out += [("%s%d_i2h_weight" % (j, i), (ng, ni), None, "write"),
                        ("%s%d_h2h_weight" % (j, i), (ng, nh), None, "write"),
                        ("%s%d_i2h_bias" % (j, i), (ng,), "zeros", "write"),
                        ("%s%d_h2h_bias" % (j, i), (ng,), "zeros", "write")]
            ni = nh * len(self.directions)
        return out

    def required_shapes(self, shape):
        self._expect_rank(shape, 3)
        return {j + "0_i2h_weight": (self.gates * self.hidden, shape[2]) for j in self.directions}

    def output_shape(self, shape):
        return tuple(shape[:2]) + (self.hidden * len(self.directions),)

    def gluon_repr(self, shape_of):
        w = shape_of("l0_i2h_weight")
        text = "%s(%s -> %d, %s" % (self.class_name, known_or_none(w[1]), self.hidden,
                                    self.layout)
        if self.num_layers != 1:
            text += ", num_layers=%d" % self.num_layers
        if self.bidirectional:
            text += ", bidirectional"
        return text + ")"

    def fixed_input_size(self, shape_of):
        return 2, shape_of("l0_i2h_weight")[1]
