"""What MXNet 1.9.1 knows about each operator, as far as a graph needs it.

A symbol node records an operator's registered name (``FullyConnected``, ``elemwise_add``)
and its attributes as strings; what else a graph depends on is the operator's
signature: its input names (``data``, ``weight``, ``bias`` unless ``no_bias``), which
inputs it mutates (BatchNorm's moving statistics: the auxiliary states), how many
outputs it has in all (``node_row_ptr`` counts them: max pooling keeps a workspace
output in MXNet's oneDNN build) and how many are visible (``list_outputs``), and the
names of those outputs. ``OPS`` holds that per operator; ``FUNCTIONS`` maps each Python
function name MXNet offers (``flatten``, ``_Plus``) to the operator it makes, since the
function name, lowercased, is the hint of the automatic node name (``flatten0``,
``_plus0``). Everything here was read from MXNet (see tests/mxnet_reference/
record_symbol.py).
"""

from keras_defer.errors import MXNetError


def _flag(attrs, key, default=False):
    value = attrs.get(key)
    return default if value is None else value.strip() in ("True", "true", "1")


class OpSpec:
    """One operator's signature. ``inputs``, ``outputs``, ``visible`` may be callables
    of the node's attribute dict (strings), for operators whose signature depends on
    their parameters."""

    def __init__(self, name, inputs=("data",), params=(), aux=(), outputs=1, visible=None,
                 output_names=None, variadic=None, required=(), input_inits=None):
        self.name = name
        self._inputs = inputs
        self.params = tuple(params)  # keyword order, for positional arguments
        self.aux = aux
        self._outputs = outputs
        self._visible = visible
        self._output_names = output_names
        self.variadic = variadic  # the attribute counting variadic inputs ('num_args')
        self.required = tuple(required)
        self.input_inits = input_inits or {}  # __init__ of auto-created input variables

    @staticmethod
    def _value(spec, attrs):
        return spec(attrs) if callable(spec) else spec

    def input_names(self, attrs, count=None):
        if self.variadic is not None:
            return ["arg%d" % i for i in range(count or 0)]
        return list(self._value(self._inputs, attrs))

    def num_outputs(self, attrs):
        return int(self._value(self._outputs, attrs))

    def num_visible(self, attrs):
        if self._visible is None:
            return self.num_outputs(attrs)
        return int(self._value(self._visible, attrs))

    def output_name(self, attrs, index):
        names = self._value(self._output_names, attrs)
        if names:
            return names[index]
        return "output" if self.num_outputs(attrs) == 1 else "output%d" % index

    def check(self, attrs):
        for param in self.required:
            if param not in attrs:
                raise MXNetError("Required parameter %s is not presented, in operator "
                                 "%s. Pass %s=..." % (param, self.name, param))


OPS = {}
"""Registered operator name -> OpSpec."""


def _op(name, **kwargs):
    OPS[name] = OpSpec(name, **kwargs)


def _with_bias(default_no_bias):
    def inputs(attrs):
        no_bias = _flag(attrs, "no_bias", default_no_bias)
        return ("data", "weight") if no_bias else ("data", "weight", "bias")
    return inputs


def _pooling_outputs(attrs):
    # MXNet 1.9.1's oneDNN build keeps max pooling's workspace as a hidden output
    layout = attrs.get("layout", "None")
    return 2 if (attrs.get("pool_type", "max") == "max"
                 and layout in ("None", "NCW", "NCHW", "NCDHW")) else 1


def _rnn_inputs(attrs):
    names = ["data", "parameters", "state"]
    if attrs.get("mode") == "lstm":
        names.append("state_cell")
    if _flag(attrs, "use_sequence_length"):
        names.append("sequence_length")
    return names


def _rnn_outputs(attrs):
    if not _flag(attrs, "state_outputs"):
        return 1
    return 3 if attrs.get("mode") == "lstm" else 2


def _with_length(attrs):
    return ("data", "length") if _flag(attrs, "use_length") else ("data",)


def _with_sequence_length(attrs):
    return (("data", "sequence_length") if _flag(attrs, "use_sequence_length")
            else ("data",))


def _mean_var(attrs):
    return 3 if _flag(attrs, "output_mean_var") else 1


_op("FullyConnected", inputs=_with_bias(False), required=("num_hidden",),
    params=("num_hidden", "no_bias", "flatten"))
_op("Convolution", inputs=_with_bias(False), required=("kernel", "num_filter"),
    params=("kernel", "stride", "dilate", "pad", "num_filter", "num_group", "workspace",
            "no_bias", "cudnn_tune", "cudnn_off", "layout"))
_op("Deconvolution", inputs=_with_bias(True), required=("kernel", "num_filter"),
    params=("kernel", "stride", "dilate", "pad", "adj", "target_shape", "num_filter",
            "num_group", "workspace", "no_bias", "cudnn_tune", "cudnn_off", "layout"))
_op("BatchNorm", inputs=("data", "gamma", "beta", "moving_mean", "moving_var"), aux=(3, 4),
    outputs=3, visible=_mean_var, output_names=("output", "mean", "var"),
    params=("eps", "momentum", "fix_gamma", "use_global_stats", "output_mean_var", "axis",
            "cudnn_off"),
    input_inits={"moving_mean": '["zero", {}]', "moving_var": '["one", {}]'})
_op("LayerNorm", inputs=("data", "gamma", "beta"), outputs=3, visible=_mean_var,
    output_names=("output", "mean", "std"), params=("axis", "eps", "output_mean_var"))
_op("InstanceNorm", inputs=("data", "gamma", "beta"), outputs=3, visible=1,
    params=("eps",))
_op("GroupNorm", inputs=("data", "gamma", "beta"), outputs=3, visible=_mean_var,
    output_names=("output", "mean", "std"), params=("num_groups", "eps", "output_mean_var"))
_op("Activation", required=("act_type",), params=("act_type",))
_op("LeakyReLU", inputs=lambda a: ("data", "gamma") if a.get("act_type") == "prelu"
    else ("data",),
    outputs=lambda a: 2 if a.get("act_type") == "rrelu" else 1,
    output_names=("output", "mask"),
    params=("act_type", "slope", "lower_bound", "upper_bound"))
_op("Pooling", outputs=_pooling_outputs, visible=1, output_names=("output", "workspace"),
    params=("kernel", "pool_type", "global_pool", "cudnn_off", "pooling_convention",
            "stride", "pad", "p_value", "count_include_pad", "layout"))
_op("Dropout", outputs=2, visible=1, output_names=("output", "mask"),
    params=("p", "mode", "axes", "cudnn_off"))
_op("LRN", outputs=2, visible=1, output_names=("output", "tmp_norm"), required=("nsize",),
    params=("alpha", "beta", "knorm", "nsize"))
_op("L2Normalization", outputs=2, visible=1, output_names=("output", "norm"),
    params=("eps", "mode"))
_op("Embedding", inputs=("data", "weight"), required=("input_dim", "output_dim"),
    params=("input_dim", "output_dim", "dtype", "sparse_grad"))
_op("RNN", inputs=_rnn_inputs, outputs=_rnn_outputs,
    output_names=("output", "state_output", "statecell_output"),
    required=("state_size", "num_layers", "mode"),
    params=("state_size", "num_layers", "bidirectional", "mode", "p", "state_outputs",
            "projection_size", "lstm_state_clip_min", "lstm_state_clip_max",
            "lstm_state_clip_nan", "use_sequence_length"))
for _name in ("SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
              "MAERegressionOutput", "softmax_cross_entropy"):
    _op(_name, inputs=("data", "label"))
for _name in ("softmax", "log_softmax", "softmin"):
    _op(_name, inputs=_with_length, params=("axis", "temperature", "dtype", "use_length"))
_op("SoftmaxActivation", params=("mode",))
_op("Flatten")
_op("Reshape", params=("shape", "reverse", "target_shape", "keep_highest"))
_op("transpose", params=("axes",))
_op("expand_dims", required=("axis",), params=("axis",))
_op("squeeze", params=("axis",))
_op("SwapAxis", params=("dim1", "dim2"))
_op("Concat", variadic="num_args", params=("dim",))
_op("add_n", variadic="num_args")
_op("stack", variadic="num_args", params=("axis",))
_op("slice", required=("begin", "end"), params=("begin", "end", "step"))
_op("slice_axis", required=("axis", "begin", "end"), params=("axis", "begin", "end"))
_op("slice_like", inputs=("data", "shape_like"), params=("axes",))
_op("SliceChannel", outputs=lambda a: int(a["num_outputs"]), required=("num_outputs",),
    params=("num_outputs", "axis", "squeeze_axis"))
_op("clip", required=("a_min", "a_max"), params=("a_min", "a_max"))
_op("Cast", required=("dtype",), params=("dtype",))
_op("amp_cast", required=("dtype",), params=("dtype",))
_op("Pad", required=("mode", "pad_width"), params=("mode", "pad_width", "constant_value"))
_op("tile", required=("reps",), params=("reps",))
_op("repeat", required=("repeats",), params=("repeats", "axis"))
_op("reverse", required=("axis",), params=("axis",))
_op("broadcast_to", params=("shape",))
_op("broadcast_axis", params=("axis", "size"))
_op("broadcast_like", inputs=("lhs", "rhs"), params=("lhs_axes", "rhs_axes"))
_op("reshape_like", inputs=("lhs", "rhs"))
_op("_rnn_param_concat", variadic="num_args", params=("dim",))
_op("_zeros", inputs=(), params=("shape", "ctx", "dtype"))
_op("_ones", inputs=(), params=("shape", "ctx", "dtype"))
_op("_full", inputs=(), params=("shape", "ctx", "dtype", "value"))
_op("UpSampling", variadic="num_args", params=("scale", "num_filter", "sample_type"))
_op("SequenceMask", inputs=_with_sequence_length,
    params=("use_sequence_length", "value", "axis"))
_op("SequenceLast", inputs=_with_sequence_length, params=("use_sequence_length", "axis"))
_op("SequenceReverse", inputs=_with_sequence_length, params=("use_sequence_length", "axis"))
_op("where", inputs=("condition", "x", "y"))
_op("take", inputs=("a", "indices"), params=("axis", "mode"))
_op("batch_take", inputs=("a", "indices"))
_op("pick", inputs=("data", "index"), params=("axis", "keepdims", "mode"))
_op("gather_nd", inputs=("data", "indices"))
_op("one_hot", inputs=("indices",), required=("depth",),
    params=("depth", "on_value", "off_value", "dtype"))
_op("dot", inputs=("lhs", "rhs"), params=("transpose_a", "transpose_b", "forward_stype"))
_op("batch_dot", inputs=("lhs", "rhs"), params=("transpose_a", "transpose_b",
                                               "forward_stype"))
_op("_linalg_gemm2", inputs=("A", "B"), params=("transpose_a", "transpose_b", "alpha",
                                                "axis"))
_op("sort", outputs=2, visible=1, params=("axis", "is_ascend"))
_op("topk", outputs=lambda a: 2 if a.get("ret_typ") == "both" else 1,
    params=("axis", "k", "ret_typ", "is_ascend", "dtype"))
for _name in ("sum", "mean", "max", "min", "prod", "nansum", "nanprod"):
    _op(_name, params=("axis", "keepdims", "exclude"))
_op("norm", params=("ord", "axis", "out_dtype", "keepdims"))
for _name in ("argmax", "argmin"):
    _op(_name, params=("axis", "keepdims"))
_op("argsort", params=("axis", "is_ascend", "dtype"))
for _name in ("relu", "sigmoid", "tanh", "softsign", "exp", "log", "log2", "log10", "log1p",
              "expm1", "sqrt", "rsqrt", "cbrt", "square", "abs", "sign", "negative",
              "reciprocal", "round", "rint", "floor", "ceil", "trunc", "fix", "erf", "sin",
              "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
              "arccosh", "arctanh", "degrees", "radians", "gamma", "gammaln",
              "zeros_like", "ones_like", "_copy", "BlockGrad", "make_loss", "MakeLoss",
              "shape_array", "size_array", "hard_sigmoid", "log_sigmoid", "mish",
              "logical_not", "diag", "khatri_rao", "smooth_l1", "Crop", "erfinv"):
    _op(_name)
OPS["smooth_l1"].params = ("scalar",)
OPS["hard_sigmoid"].params = ("alpha", "beta")
for _name in ("elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_power",
              "_maximum", "_minimum", "_mod", "_hypot", "_equal", "_not_equal", "_greater",
              "_greater_equal", "_lesser", "_lesser_equal", "_logical_and", "_logical_or",
              "_logical_xor"):
    _op(_name, inputs=("lhs", "rhs"))
for _name in ("add", "sub", "mul", "div", "plus", "minus", "mod", "power", "maximum",
              "minimum", "hypot", "equal", "not_equal", "greater", "greater_equal",
              "lesser", "lesser_equal", "logical_and", "logical_or", "logical_xor"):
    _op("broadcast_" + _name, inputs=("lhs", "rhs"))
for _name in ("plus", "minus", "rminus", "mul", "div", "rdiv", "mod", "rmod", "power",
              "rpower", "maximum", "minimum", "hypot", "equal", "not_equal", "greater",
              "greater_equal", "lesser", "lesser_equal", "logical_and", "logical_or",
              "logical_xor"):
    _op("_%s_scalar" % _name, params=("scalar", "is_int"))


FUNCTIONS = {name: name for name in OPS}
"""Python function name (the naming hint, lowercased) -> registered operator name."""
FUNCTIONS.update({
    "flatten": "Flatten", "reshape": "Reshape", "concat": "Concat", "split": "SliceChannel",
    "swapaxes": "SwapAxis", "cast": "Cast", "pad": "Pad", "stop_gradient": "BlockGrad",
    "ElementWiseSum": "add_n", "identity": "_copy", "crop": "slice", "flip": "reverse",
    "broadcast_axes": "broadcast_axis", "linalg_gemm2": "_linalg_gemm2",
    "_Plus": "elemwise_add", "_Minus": "elemwise_sub", "_Mul": "elemwise_mul",
    "_Div": "elemwise_div", "_Power": "_power", "_Maximum": "_maximum",
    "_Minimum": "_minimum", "_Mod": "_mod", "_Hypot": "_hypot", "_Equal": "_equal",
    "_Not_Equal": "_not_equal", "_Greater": "_greater", "_Greater_Equal": "_greater_equal",
    "_Lesser": "_lesser", "_Lesser_Equal": "_lesser_equal",
})
for _name in ("Plus", "Minus", "RMinus", "Mul", "Div", "RDiv", "Mod", "RMod", "Power",
              "RPower", "Maximum", "Minimum", "Hypot", "Equal", "NotEqual", "Greater",
              "GreaterEqual", "Lesser", "LesserEqual"):
    _snake = {"NotEqual": "not_equal", "GreaterEqual": "greater_equal",
              "LesserEqual": "lesser_equal", "RMinus": "rminus", "RDiv": "rdiv",
              "RMod": "rmod", "RPower": "rpower"}.get(_name, _name.lower())
    FUNCTIONS["_%sScalar" % _name] = "_%s_scalar" % _snake


def spec(op_name):
    """The OpSpec of a registered operator name; MXNetError naming it when unknown."""
    try:
        return OPS[op_name]
    except KeyError:
        raise MXNetError("Operator '%s' is not among the operators keras_defer.symbol "
                         "knows (%d of MXNet's); graphs built with it cannot be made here."
                         % (op_name, len(OPS))) from None
