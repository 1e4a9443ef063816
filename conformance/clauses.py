"""The spec: Gluon 1.9.1's parameter semantics, MXNet 1.x's NDArray and autograd, as
numbered clauses.

Each clause has an id, a group (the state machine that exercises it most), a one-line
statement and where it comes from: a section of the chapter (shared/chapter/deferred-init.md,
'4.3.x' as rendered), MXNet 1.9.1's source, or 'observed in MXNet 1.9.1'.  DI-* are the
parameter lifecycle (deferred initialization), ND-* the NDArray (group ndarray), AG-*
autograd (group autograd), LS-* the Gluon losses (group loss), TR-* optimizers, learning
rate schedulers and the Trainer (group trainer), FF-* MXNet's NDArray list file format
(group file_format), VA-* a net's output values against the numpy reference forward
(group values; checked after every forward pass of every parameter group).  The checks
(conformance/checks/, one module per group) name these ids.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Clause:
    id: str
    group: str
    statement: str
    source: str


CH = "chapter 4.3"
P = "Gluon 1.9.1 gluon/parameter.py"
B = "Gluon 1.9.1 gluon/block.py"
L = "Gluon 1.9.1 gluon/nn/basic_layers.py"
ND = "MXNet 1.9.1 ndarray/ndarray.py"
AG = "MXNet 1.9.1 autograd.py"
LS = "MXNet 1.9.1 gluon/loss.py"
OPT = "MXNet 1.9.1 optimizer/optimizer.py"
OPS = "MXNet 1.9.1 src/operator/optimizer_op-inl.h"
TR = "MXNet 1.9.1 gluon/trainer.py"
SEEN = "observed in MXNet 1.9.1"

CLAUSES = [
    Clause("DI-01", "lifecycle", "Parameters exist as soon as the net is built; unknown dimensions read 0 "
           "(Dense weight (units, in_units or 0), bias (units,)).", CH + ".1 (collect_params before data)"),
    Clause("DI-02", "lifecycle", "repr(block) shows 'Dense(None -> units, Activation(act))' / "
           "'(in -> units, linear)' nested in '(i): ' lines, reflecting the current shapes.",
           CH + ".1; " + L + " Dense/Sequential.__repr__"),
    Clause("DI-03", "lifecycle", "repr(collect_params()) is '<prefix> (' + one "
           "'Parameter NAME (shape=..., dtype=float32)' line per parameter + ')'.",
           CH + ".1; " + P + " Parameter/ParameterDict.__repr__"),
    Clause("DI-04", "naming", "Names: per-class global counters (dense0, sequential0, hybridsequential0), "
           "prefix= verbatim, name_scope() gives parent prefix + local counter; params are prefix+'weight'/'bias'.",
           B + " _BlockScope.create; chapter 4.3.2 (dense2_weight)"),
    Clause("DI-05", "naming", "collect_params() lists parameters in structure order, a shared one once; "
           "collect_params(select) keeps names matching the regular expression (re.match).",
           B + " Block.collect_params"),
    Clause("DI-06", "lifecycle", "initialize() initializes at once every parameter whose shape is known "
           "(biases, layers with in_units), in collect_params order.", CH + ".3; " + P + " Parameter.initialize"),
    Clause("DI-07", "lifecycle", "initialize() never runs an initializer on an unknown shape: it registers it "
           "(deferred); data() then raises DeferredInitializationError.", CH + ".2 (no Init line at initialize)"),
    Clause("DI-08", "lifecycle", "The first forward pass infers every unknown shape along the graph "
           "(flatten=True: prod of non-batch dims; flatten=False: last dim).", CH + ".1 (shapes after net(x))"),
    Clause("DI-09", "lifecycle", "The first forward pass runs each pending initializer exactly once, in "
           "forward order, with the parameter's name and full shape.", CH + ".2 (Init dense2_weight (256, 20))"),
    Clause("DI-10", "lifecycle", "Later forward passes never re-initialize; values are unchanged.",
           CH + ".2 (second net(x) prints nothing)"),
    Clause("DI-11", "reinit", "A second initialize() without force_reinit warns once per initialized "
           "parameter (\"Parameter 'N' is already initialized, ignoring. ...\") and changes nothing; "
           "still-deferred ones are re-registered silently.", P + " Parameter.initialize"),
    Clause("DI-12", "reinit", "initialize(force_reinit=True) re-initializes every known shape at once "
           "(initializer called again, fresh values) and re-registers unknown ones.", CH + ".3 (force_reinit)"),
    Clause("DI-13", "lifecycle", "Initializer precedence: a parameter's own initializer (weight_initializer=, "
           "Dense's 'zeros' bias) wins; the global initializer's _init_weight is called for every parameter "
           "without one, whatever its suffix; values written into data are the parameter's values.",
           P + " Parameter.initialize/_finish_deferred_init; init.Initializer.__call__"),
    Clause("DI-14", "in_units", "Layers given in_units initialize at initialize(); with partial in_units only "
           "those layers do, the rest wait for the first pass (exercise 1).", CH + ".3, exercise 1"),
    Clause("DI-15", "in_units", "A wrong in_units raises a shape-mismatch error on the first pass "
           "(MXNetError/ShapeMismatchError); the next pass with the right input works (exercise 2).",
           CH + " exercise 2"),
    Clause("DI-16", "in_units", "After the first pass, an input with another feature size raises a "
           "shape-mismatch error and changes nothing; the batch size may vary freely (exercise 3).",
           CH + " exercise 3"),
    Clause("DI-17", "errors", "data()/grad()/list_ctx() before initialize() raise RuntimeError (not "
           "initialized); data()/grad() after it and before the first pass raise DeferredInitializationError; "
           "grad() of an initialized grad_req='null' parameter (BatchNorm's running statistics) raises.",
           CH + ".1 (net[0].weight.data()); " + P + " _check_and_get"),
    Clause("DI-18", "errors", "A forward pass before initialize() raises RuntimeError (not initialized) "
           "and changes nothing.", B + " HybridBlock.forward"),
    Clause("DI-19", "set_data", "set_data() after initialize() and before the first pass fixes the shape "
           "and the value; the first pass keeps that value and calls no initializer for it.",
           P + " Parameter.set_data; chapter 4.3.2 (data/set_data before the first pass)"),
    Clause("DI-20", "set_data", "set_data() before initialize() raises (not initialized); Gluon has already "
           "changed the shape (divergence 'set_data_uninitialized_unchanged': nothing changes).",
           P + " Parameter.set_data (assert after shape setter)"),
    Clause("DI-21", "set_data", "set_data() with a shape contradicting the known one raises a "
           "shape-mismatch error and changes nothing.", P + " Parameter.shape setter"),
    Clause("DI-22", "sharing", "params=other.params shares the same Parameter objects (named after the "
           "owner); adding one block twice shares it; collect_params lists each once; each is "
           "initialized once.", B + " Block.__init__(params=); ParameterDict.get"),
    Clause("DI-23", "hybridize", "hybridize() changes no name, shape, repr, initializer call or error; a "
           "Sequential whose children are all HybridBlocks warns; a hybridized HybridSequential's "
           "first pass is one transaction.", B + " HybridBlock.hybridize/_call_cached_op; " + L),
    Clause("DI-24", "save_load", "save_parameters/load_parameters into a fresh deferred net restores "
           "shapes and values without calling any initializer; saving a not-initialized net raises.",
           B + " Block.save_parameters/load_parameters; " + P + " _load_init"),
    Clause("DI-25", "save_load", "copy.deepcopy of a net before its first pass is an independent net with "
           "the same names; its first pass leaves the original deferred. Gluon refuses to copy a "
           "hybridized net that has run (its CachedOp) until hybridize() is called again "
           "(divergence 'deepcopy_compiled': keras_defer copies it).",
           B + " Block, copied by copy.deepcopy; HybridBlock._cached_op (observed in MXNet 1.9.1)"),
    Clause("DI-26", "lifecycle", "Parameters live on the device given to initialize() (list_ctx) and the "
           "forward pass runs there; every clause runs on every device the backend reports.",
           P + " Parameter.list_ctx"),
    Clause("DI-27", "lifecycle", "The forward pass's output shape: flatten=True gives (batch, units); "
           "flatten=False keeps the leading dims and replaces the last by units.", L + " Dense.hybrid_forward"),
    Clause("DI-28", "lifecycle", "A forward pass that fails in a later layer: Gluon has initialized the layers "
           "before it; a contradicted BatchNorm/InstanceNorm shape fails after the failing block's earlier "
           "parameters took their inferred shapes (divergence 'atomic_first_pass': nothing changes).",
           B + " HybridBlock.forward, _infer_attrs"),
    Clause("ND-01", "ndarray", "nd.array(list or numpy array, whatever its dtype) is float32 unless dtype= is "
           "given; nd.zeros/ones/full(shape, dtype=) fill that shape, float32 by default.",
           "MXNet 1.9.1 ndarray/utils.py array; " + ND + " array/zeros/ones/full (mx_real_t)"),
    Clause("ND-02", "ndarray", "x.shape is a tuple, x.ndim, x.size; x.dtype is the numpy scalar type "
           "(numpy.float32, not a dtype instance); x.context is the device it was made on.",
           ND + " NDArray.shape/ndim/size/dtype/context"),
    Clause("ND-03", "ndarray", "repr(x) and print(x) are '\\n' + str(x.asnumpy()) + '\\n<NDArray AxB @cpu(0)>', "
           "byte for byte.", ND + " NDArray.__repr__"),
    Clause("ND-04", "ndarray", "x[key] for ints and slices (steps 1, 2, -1, negative bounds, tuples): numpy's "
           "values; an int drops its axis, and a result with no axis left has shape (1,) (x[1] of a vector, "
           "x[i, j]), never ().", ND + " NDArray.__getitem__, _at, _get_nd_basic_indexing"),
    Clause("ND-05", "ndarray", "x[:] and x[::1] (a slice of step 1 without bounds) are x itself, the same object.",
           ND + " NDArray.__getitem__ (py_slice, step None or 1, no start or stop: return self)"),
    Clause("ND-06", "ndarray", "x[i], x[a:b], contiguous basic selections and x.reshape() share memory with x "
           "(a write to either shows in the other); non-contiguous selections (x[:, j], steps), astype() and "
           "copy() are independent.",
           ND + " NDArray._basic_indexing_slice_is_contiguous, _slice, _at, reshape"),
    Clause("ND-07", "ndarray", "In-place writes keep the array object and write through to its views: "
           "x[key] = scalar/NDArray/numpy (broadcast to the selection, cast to x's dtype), x[key] += s, "
           "x += y (y broadcasting to x), y[:] = x + y.", ND + " NDArray.__setitem__, "
           "_set_nd_basic_indexing, __iadd__/__isub__/__imul__"),
    Clause("ND-08", "ndarray", "sum/mean/max/min/prod reduce the given axes (None: all; an int, negative too; "
           "a tuple), keepdims keeps them as 1; with no axis left the result is (1,), never 0-d; "
           "the dtype is kept.", "MXNet 1.9.1 src/operator/tensor/broadcast_reduce_op.h "
           "ReduceAxesShapeImpl; " + SEEN),
    Clause("ND-09", "ndarray", "==, !=, >, >=, <, <= with a scalar (either side) or a broadcastable NDArray "
           "give 0/1 in the input's dtype, not booleans.", ND + " NDArray.__eq__.. (broadcast_equal..)"),
    Clause("ND-10", "ndarray", "+, -, *, / with a scalar (either side) or an NDArray of the same dtype "
           "broadcast as numpy does (fewer axes padded on the left, sides of 1 stretched); the result has "
           "the array's dtype.", ND + " _ufunc_helper, NDArray.__add__.. (broadcast_add..)"),
    Clause("ND-11", "ndarray", "x.reshape(codes): 0 copies a side, -1 infers one, -2 copies the rest, "
           "-3 merges two, -4 a b splits one; the values keep row-major order.",
           "MXNet 1.9.1 src/operator/tensor/matrix_op-inl.h InferReshapeShape; " + ND + " NDArray.reshape"),
    Clause("ND-12", "ndarray", "x.astype(dtype) is a new array of that dtype (float to int truncates toward "
           "zero); x.copy() a new array with x's values and dtype.", ND + " NDArray.astype/copy"),
    Clause("ND-13", "ndarray", "An arithmetic operand that is a numpy array raises TypeError ('type ... not "
           "supported') (divergence 'numpy_operands': keras_defer computes it as nd.array(operand, "
           "dtype=x.dtype)).", ND + " _ufunc_helper (TypeError)"),
    Clause("AG-01", "autograd", "x.attach_grad(grad_req='write'|'add'|'null') gives x.grad: zeros of x's shape "
           "and dtype; attaching again zeroes it.", ND + " NDArray.attach_grad"),
    Clause("AG-02", "autograd", "Under record(), y = f(x...) for sums, products, dot, exp, tanh, sigmoid, relu, "
           "square, broadcasting and sum/mean (also over one axis); y.backward() gives each attached x "
           "d(sum y)/dx (a non-scalar head's gradient is ones).", AG + " backward; " + ND + " NDArray.backward"),
    Clause("AG-03", "autograd", "y.backward(head) gives each attached x the vector-Jacobian product with "
           "head (the head gradient).", ND + " NDArray.backward(out_grad)"),
    Clause("AG-04", "autograd", "grad_req='write' overwrites x.grad at every backward; 'add' adds to it "
           "across backward calls; an attached array the head does not reach keeps its gradient.",
           AG + " mark_variables; " + ND + " attach_grad; " + SEEN),
    Clause("AG-05", "autograd", "A grad_req='null' array takes no gradient (x.grad stays zeros; MXNet 1.9.1 reads "
           "None once a backward cleared it from the graph) and the others are unaffected; backward of a head "
           "whose graph holds no 'write'/'add' array raises MXNetError (MXNet 1.9.1: 'no inputs ... require "
           "gradient', or 'not in a computational graph' when nothing was recorded; either text is accepted).",
           ND + " attach_grad; MXNet 1.9.1 src/imperative/imperative.cc Imperative::RecordOp/Backward"),
    Clause("AG-06", "autograd", "Operations under pause() are not recorded: inside record() their results are "
           "constants for backward.", AG + " pause"),
    Clause("AG-07", "autograd", "autograd.grad(heads, variables) returns one gradient per variable, the "
           "values backward would give, and leaves x.grad as it was.", AG + " grad"),
    Clause("AG-08", "autograd", "backward() of a head computed outside record(), or a second backward() of the "
           "same head, raises MXNetError (not in a computational graph).",
           "MXNet 1.9.1 src/imperative/imperative.cc Imperative::Backward; " + SEEN),
    Clause("AG-09", "autograd", "is_recording()/is_training(): False/False outside; record() True/True "
           "(train_mode=False: True/False); pause() False/False (train_mode=True: False/True); train_mode()/"
           "predict_mode() set training only; every scope restores both on exit (divergence 'no_recording': "
           "on JAX record() raises MXNetError and changes nothing).",
           AG + " record/pause/train_mode/predict_mode, _RecordingStateScope"),
    Clause("LS-01", "loss", "Every gluon.loss class builds with its options (weight, batch_axis and its own); "
           "repr(loss) is 'Name(batch_axis=B, w=W)' (W the weight as given: L2Loss's default 1.0, "
           "else None).", LS + " Loss.__repr__"),
    Clause("LS-02", "loss", "L2Loss is mean((label - pred)**2 * weight / 2) and L1Loss mean(|label - pred| * "
           "weight) over every axis but batch_axis; label is reshaped like pred; sample_weight multiplies "
           "(broadcast) before the mean. Values within 1e-6 + 1e-5|want| (float32).",
           LS + " L2Loss/L1Loss, _apply_weighting, _reshape_like"),
    Clause("LS-03", "loss", "SoftmaxCrossEntropyLoss: -log_softmax(pred, axis) picked at the label (sparse_label) "
           "or summed against it (dense), from_logits skipping log_softmax; stable for logits up to "
           "+-30. Same tolerance, but 2e-6 instead of 1e-6 through log_softmax (MXNet's float32 "
           "log_softmax([0.]) is -1.43e-6).", LS + " SoftmaxCrossEntropyLoss; " + SEEN),
    Clause("LS-04", "loss", "SigmoidBinaryCrossEntropyLoss: the stable relu(x) - x*y + softrelu(-|x|) form "
           "(with pos_weight: x - x*y + (1 + (pw-1)*y)(softrelu(-|x|) + relu(-x))); from_sigmoid: "
           "-(y log(p + 1e-12) (* pw) + (1-y) log(1 - p + 1e-12)) for p near 0 and 1. Same tolerance.",
           LS + " SigmoidBinaryCrossEntropyLoss"),
    Clause("LS-05", "loss", "KLDivLoss: sum(label * (log(label + 1e-12) - pred)) over every axis but batch_axis "
           "(from_logits=False: pred goes through log_softmax(axis) first); label zeros give 0. "
           "Tolerance as LS-03's.", LS + " KLDivLoss"),
    Clause("LS-06", "loss", "HuberLoss (|d| - rho/2 where |d| > rho, else d**2 / (2 rho)), HingeLoss "
           "relu(margin - pred*label) and SquaredHingeLoss its square, each a mean over every axis but "
           "batch_axis. Same tolerance.", LS + " HuberLoss/HingeLoss/SquaredHingeLoss"),
    Clause("LS-07", "loss", "LogisticLoss: relu(x) - x*y + softrelu(-|x|) with y = (label + 1)/2 "
           "(label_format='signed') or the label (binary). Same tolerance.", LS + " LogisticLoss"),
    Clause("LS-08", "loss", "TripletLoss: relu(sum((pos - pred)**2 - (neg - pred)**2) + margin); "
           "CosineEmbeddingLoss: 1 - cos for label 1, max(0, cos - margin) for label -1, shape (batch, 1), "
           "norms floored at 1e-12; SDMLLoss: KL divergence of log_softmax(-pairwise squared "
           "distances) from smoothed identity labels (its weight never applied). Same tolerance.",
           LS + " TripletLoss/CosineEmbeddingLoss/SDMLLoss"),
    Clause("LS-09", "loss", "PoissonNLLLoss: the mean over everything (shape (1,)) of exp(pred) - target*pred "
           "(from_logits) or pred - target*log(pred + 1e-8); compute_full adds the Stirling term where "
           "target > 1 (a target of 0 then gives NaN, as MXNet 1.9.1 does). Same tolerance.",
           LS + " PoissonNLLLoss; " + SEEN),
    Clause("LS-10", "loss", "A loss's output is float32 of shape (batch,) (the size of batch_axis), "
           "(batch, 1) for CosineEmbeddingLoss, (1,) for PoissonNLLLoss (CTCLoss: the size of the "
           "label's N axis).",
           LS + " (F.mean(..., axis=batch_axis, exclude=True))"),
    Clause("LS-11", "loss", "Under autograd.record(), loss(...).sum().backward() gives the first input "
           "the gradient of the sum (within 1e-4 + 1e-3|want| of central differences; kinks not "
           "compared). Not exercised where recording is refused (divergence 'no_recording').",
           LS + "; " + AG + " record/backward"),
    Clause("LS-12", "loss", "CTCLoss (layout NTC/TNC, label_layout NT/TN): -log p(label | softmax(pred)) by the "
           "forward algorithm, the last channel the blank, labels padded with -1; shape (batch,). Same "
           "tolerance.", LS + " CTCLoss; MXNet 1.9.1 src/operator/nn/ctc_loss-inl.h"),
    Clause("TR-01", "trainer", "gluon.Trainer(params, name, optimizer_params) builds MXNet's optimizer: "
           "its default learning rate (sgd/nag/adagrad/adadelta/signum/ftml 0.01, adam/rmsprop/nadam/lamb "
           "0.001, adamax 0.002; a scheduler's base_lr when learning_rate is not given) is "
           "trainer.learning_rate; a dict of params is taken in sorted key order.",
           OPT + " Optimizer.__init__ and subclasses; " + TR + " Trainer.__init__"),
    Clause("TR-02", "trainer", "sgd: w = (1 - lr*wd) w - lr clip(g/batch_size, c); with momentum: "
           "m = mom*m - lr*wd*w - lr*clip(g/bs, c), w += m. Weights within 1e-6 + 1e-5|w| "
           "(float32) after every move.", OPT + " SGD; " + OPS + " SGDKernel/SGDMomKernel"),
    Clause("TR-03", "trainer", "nag: s = clip(g/bs, c) + wd*w; w += mom*(mom*m - lr*s) - lr*s; then "
           "m = mom*m - lr*(clip(g/bs, c) + wd*w) with the *updated* w (nag_mom_update's output aliases "
           "the weight); sgd's rule without momentum. Same tolerance.",
           OPT + " NAG; " + OPS + " NAGMomKernel; " + SEEN),
    Clause("TR-04", "trainer", "adam: g' = clip(g/bs + wd*w, c); m, v moving averages (beta1, beta2); "
           "w -= lr*sqrt(1-beta2**t)/(1-beta1**t) * m/(sqrt(v) + eps), t the parameter's update count. "
           "Same tolerance.", OPT + " Adam; " + OPS + " AdamUpdate"),
    Clause("TR-05", "trainer", "adagrad: g' = clip(g/bs, c); h += g'**2; w += -lr (g'/sqrt(h + eps) + wd*w). "
           "Same tolerance.", OPT + " AdaGrad.update"),
    Clause("TR-06", "trainer", "rmsprop: g' = clip(g/bs + wd*w, c); n = (1-g1) g'**2 + g1 n; w -= lr g'/sqrt(n + eps); "
           "centered: also gm = (1-g1) g' + g1 gm, delta = g2 delta - lr g'/sqrt(n - gm**2 + eps), w += delta; "
           "clip_weights clips w. Same tolerance.", OPT + " RMSProp; " + OPS + " RMSProp(Alex)Update"),
    Clause("TR-07", "trainer", "adadelta (no learning rate): g' = clip(g/bs, c); acc_g, delta = sqrt(acc_d + eps)/"
           "sqrt(acc_g + eps) g', acc_d updated with rho; w -= delta + wd*w. Same tolerance.",
           OPT + " AdaDelta.update"),
    Clause("TR-08", "trainer", "adamax: g' = clip(g/bs + wd*w, c); m = b1 m + (1-b1) g'; u = max(b2 u, |g'|); "
           "w -= lr/(1 - b1**t) m/u. Same tolerance.", OPT + " Adamax.update"),
    Clause("TR-09", "trainer", "nadam: Adam with Nesterov momentum and the momentum schedule (schedule_decay), "
           "its m_schedule one product over every update of every parameter. Same tolerance.",
           OPT + " Nadam.update"),
    Clause("TR-10", "trainer", "ftml: g' = clip(g/bs + wd*w, c); v, d_t = (1-b1**t)/lr (sqrt(v/(1-b2**t)) + eps), "
           "z = b1 z + (1-b1) g' - (d_t - b1 d) w; w = -z/d_t. Same tolerance.",
           OPT + " FTML; " + OPS + " FTMLKernel"),
    Clause("TR-11", "trainer", "signum: m = mom*m - (1-mom)(clip(g/bs, c) + wd*w); w = (1 - lr*wd_lh) w + lr sign(m); "
           "momentum 0: w = (1 - lr*wd) w - lr sign(g). Same tolerance.", OPT + " Signum; " + OPS +
           " SignumKernel/SignSGDKernel"),
    Clause("TR-12", "trainer", "lamb: m, v of clip(g/bs, c) (bias-corrected unless bias_correction=False), "
           "r = m/(sqrt(v) + eps) + wd*w; w -= lr * (|w|/|r|, 1 if either is 0, |w| bounded by "
           "lower_bound/upper_bound) * r. Same tolerance.", OPT + " LAMB; " + OPS + " LambUpdatePhaseOne/Two"),
    Clause("TR-13", "trainer", "Each parameter's lr_mult and wd_mult scale its learning rate and weight decay, "
           "read at every step (a changed p.lr_mult applies from the next step).",
           OPT + " Optimizer._get_lrs/_get_wds (param_dict)"),
    Clause("TR-14", "trainer", "An lr_scheduler (Factor, MultiFactor, Poly, Cosine, with warmup) gives the learning "
           "rate of each update from num_update, the largest update count of any parameter so far; "
           "trainer.learning_rate is the scheduler at num_update.",
           "MXNet 1.9.1 lr_scheduler.py; " + OPT + " Optimizer._update_count/learning_rate"),
    Clause("TR-15", "trainer", "trainer.set_learning_rate(lr) sets the rate of the next steps and "
           "trainer.learning_rate; with an lr_scheduler it raises UserWarning ('LRScheduler of the "
           "optimizer has already been defined ...') and changes nothing.",
           OPT + " Optimizer.set_learning_rate; " + TR + " Trainer.set_learning_rate"),
    Clause("TR-16", "trainer", "A grad_req='null' parameter is skipped by step(): its weight never changes and "
           "it never makes step raise.", TR + " Trainer._update"),
    Clause("TR-17", "trainer", "step() after a parameter's gradient was not refreshed by backward since the last "
           "step (a direct write p.grad()[:] = g is not a refresh) raises UserWarning('Gradient of "
           "Parameter `NAME` on context cpu(0) has not been updated by backward since last `step`. ...') "
           "and updates nothing (the parameters before it in the trainer's order have their fresh flag "
           "consumed; none under the divergence 'atomic_stale_step'); step(ignore_stale_grad=True) "
           "updates only the parameters with fresh gradients.",
           TR + " Trainer._update; " + SEEN),
    Clause("TR-18", "trainer", "trainer.save_states(f) then load_states(f) restores the optimizer as saved: its "
           "states (momenta, moments), update counts, learning rate and scheduler; weights are not touched.",
           TR + " Trainer.save_states/load_states; " + OPT + " Updater.get_states/set_states"),
    Clause("FF-01", "file_format", "nd.save(f, x | [x, ...] | {name: x}) writes MXNet's NDArray list file "
           "(conformance/file_format_model.py): uint64 0x112, 0, the count; each array as V2 (uint32 "
           "0xF993FAC9, storage type 0, int32 ndim, int64 dims, the context, the dtype flag of float32/"
           "float64/float16/uint8/int32/int8/int64/bool, its little-endian C-order bytes); then the "
           "names (none for an array or a list, a dict's keys in its order, utf-8), nothing after: "
           "byte for byte MXNet's file but for the context (divergence 'checksum_trailer': then "
           "a 20-byte CRC-32 trailer, which MXNet's reader ignores).",
           "MXNet 1.9.1 src/ndarray/ndarray.cc NDArray::Save, src/c_api/c_api.cc MXNDArraySave; " + SEEN),
    Clause("FF-02", "file_format", "nd.load(f) of what nd.save wrote returns a list (an array, a list, an "
           "empty dict) or a dict in the file's order (a non-empty dict), each array with the saved "
           "shape, dtype and values bit for bit (NaN, inf, -0.0 included).",
           "MXNet 1.9.1 ndarray/utils.py load"),
    Clause("FF-03", "file_format", "nd.load(f) of a file as MXNet writes it (the reference writer: arrays "
           "in the V2 layout, or the older V1 (magic 0xF993FAC8, no storage type) and V0 (no magic, "
           "uint32 ndim and dims) layouts MXNet 1.9.1 still reads; names or none) gives its arrays, "
           "names, shapes, dtypes and values.",
           "MXNet 1.9.1 src/ndarray/ndarray.cc NDArray::Load/LegacyLoad; " + SEEN),
    Clause("FF-04", "file_format", "nd.load(f) of a file cut short at any byte, or whose list magic, "
           "array magic or dtype flag is not one of MXNet's, raises MXNetError.",
           "MXNet 1.9.1 src/c_api/c_api.cc MXNDArrayLoad ('Invalid NDArray file format'); " + SEEN),
    Clause("FF-05", "file_format", "net.save_parameters(f) writes one array per structural name "
           "('0.weight', '1.0.bias'; a shared Parameter under each of its positions) and "
           "net.collect_params().save(f, strip_prefix) one per Parameter name minus strip_prefix, in "
           "collect order, with the parameters' values (float32), as FF-01's file.",
           B + " Block.save_parameters/_collect_params_with_prefix; " + P + " ParameterDict.save"),
    Clause("FF-06", "file_format", "A fresh net of the same architecture (not initialized, or initialized "
           "and deferred) takes every shape and value from each naming style, calling no initializer: "
           "structural names through load_parameters, full names through collect_params().load, names "
           "without the net's prefix through load_parameters (Gluon's legacy route when no name holds "
           "a '.'), and 'arg:'/'aux:' names (export's) through collect_params().load.",
           B + " Block.load_parameters; " + P + " ParameterDict.load/load_dict, Parameter._load_init"),
    Clause("FF-07", "file_format", "Loading a file that lacks a Parameter, holds a name the net lacks, or "
           "a shape contradicting a known one raises AssertionError (ValueError for an unknown "
           "structural name through load_parameters); a missing name changes nothing; otherwise Gluon "
           "has loaded the Parameters before the failing name in file order (divergence "
           "'atomic_load': nothing changes).",
           B + " Block.load_parameters; " + P + " ParameterDict.load_dict, Parameter._load_init"),
    Clause("FF-08", "file_format", "net.export(p, epoch) of a hybridized net that has run writes "
           "p-symbol.json and p-%04d.params (the epoch), the latter FF-01's file holding "
           "'aux:NAME' for BatchNorm's running statistics and 'arg:NAME' for every other "
           "Parameter (a shared one once), with their values.",
           B + " HybridBlock.export"),
    Clause("FF-09", "file_format", "gluon.SymbolBlock.imports(p-symbol.json, ['data'], p-0000.params) "
           "of an exported net gives the net's outputs on the same input (within 1e-5 + 1e-5|y|, "
           "float32).", "Gluon 1.9.1 gluon/block.py SymbolBlock.imports"),
    # the lifecycle's blind spots (issue 16): arrays, random values, grad_req, save and
    # load on their own, copies changed afterwards
    Clause("DI-29", "lifecycle", "Parameter.data() is the same array object from one move to the next while "
           "Gluon keeps it: set_data, load_parameters into an initialized parameter, a second "
           "initialize(), forward passes, save_parameters; initialize(force_reinit=True) makes a new "
           "array (divergence 'reinit_keeps_array': the same array, re-drawn in place).",
           P + " Parameter.set_data (arr[:] = data), _load_init, initialize (self._data = None), "
           "_init_impl; " + SEEN),
    Clause("DI-30", "reinit", "The default initializer (Uniform(0.07)) draws values in [-0.07, 0.07], "
           "not all equal, with the uniform's mean 0 and variance 0.07**2/3 (within 6 standard errors, "
           "64 values or more).", "MXNet 1.9.1 initializer.py Uniform; " + P + " initialize"),
    Clause("DI-31", "reinit", "Separate draws differ: force_reinit re-draws (new values, not the old "
           "ones), two parameters of the same shape drawn separately hold different values; a draw "
           "keeps its values through later moves (passes, set_data of others, save/load, copies).",
           "MXNet 1.9.1 initializer.py Uniform (one random stream); " + SEEN),
    Clause("DI-32", "reinit", "mx.random.seed(s) replays: the same seed before building, initializing "
           "and running the same architecture gives the same drawn values.",
           "MXNet 1.9.1 random.py seed; " + SEEN),
    Clause("DI-33", "errors", "grad_req survives every move ('null' for BatchNorm's running statistics "
           "and an InstanceNorm gamma without scale, 'write' otherwise) and grad() of a 'null' "
           "parameter raises in every state: data()'s error before its data exists, RuntimeError "
           "(grad_req='null') once initialized, after force_reinit, load, set_data and copies.",
           P + " Parameter.grad/_init_grad; " + L + " BatchNorm"),
    Clause("DI-34", "save_load", "load_parameters into a net initialized while its shapes are unknown "
           "fixes shapes and values there; the first pass after it calls no initializer and keeps the "
           "loaded values.", P + " Parameter._load_init (deferred: _init_impl, _deferred_init cleared)"),
    Clause("DI-35", "save_load", "save_parameters on its own: with a not-initialized or deferred parameter "
           "it raises that parameter's error (the first in structural order) and writes no file; "
           "otherwise it writes the file and changes nothing in the net.",
           B + " Block.save_parameters (_reduce before ndarray.save); " + SEEN),
    Clause("DI-36", "save_load", "A copy.deepcopy is independent: set_data, initialize(force_reinit=True) "
           "or a training step (record, backward, Trainer.step) on the copy leave the original's "
           "values and arrays as they were, and the copy's arrays are not the original's. "
           "Gluon's copied arrays have no gradient attached: backward through the copy raises "
           "MXNetError ('not in a computational graph') until force_reinit (divergence "
           "'copy_trains': the copy trains).",
           B + " Block, copied by copy.deepcopy; " + SEEN),
    # values (issue 16): a net's output against the numpy reference forward
    # (conformance/reference_forward.py, proven on MXNet's own numbers by
    # conformance/test_reference_forward.py) for the weights the net holds, read back through
    # the adapter after every move that sets them; float32 tolerance: |y - ref| <= 1e-4 |ref|
    # + 1e-5 max(1, max |ref|) (float64 reference).  A mismatch is charged to the clause of the
    # most particular block family in the net (VA-04 layouts, then VA-03, VA-02, VA-01).
    Clause("VA-01", "values", "An inference forward pass of a Dense net gives the reference formula's "
           "output for the net's current weights: Dense (x W^T + b, flatten=True over the non-batch "
           "axes, else the last), Activation/HybridLambda (relu, tanh, sigmoid), Dropout (identity at "
           "inference), Flatten, LayerNorm (last axis) and BatchNorm (running statistics, eps 1e-5) "
           "between them; shared layers apply the same weights.",
           L + " Dense/Dropout/Flatten/LayerNorm/BatchNorm; MXNet 1.9.1 src/operator/nn/"
           "fully_connected-inl.h, batch_norm.cc, layer_norm.cc"),
    Clause("VA-02", "values", "Convolution stems compute the reference: Conv1D/2D/3D (cross-correlation, "
           "weight (out, in, *k), strides, zero padding), Conv*Transpose (its adjoint, weight (in, out, "
           "*k), output (n-1)s - 2p + k), Max/Avg pooling (valid windows, stride = pool size), global "
           "pooling, BatchNorm with running statistics, InstanceNorm (per sample and channel over the "
           "spatial axes, gamma applied even with scale=False), LayerNorm.",
           "Gluon 1.9.1 gluon/nn/conv_layers.py; MXNet 1.9.1 src/operator/nn/convolution-inl.h, "
           "deconvolution-inl.h, pooling-inl.h, instance_norm-inl.h"),
    Clause("VA-03", "values", "Sequence stems compute the reference: Embedding (rows of the weight at the "
           "indices), rnn.RNN (relu), LSTM (gates i, f, g, o in the rows of i2h/h2h: c = f c + i g, "
           "h = o tanh c), GRU (r, z, n: n = tanh(i2h_n + r (h2h_n + b)), h = (1 - z) n + z h_prev), "
           "zero initial states, layout TNC, bidirectional outputs [forward, backward], layer l reading "
           "layer l-1's outputs.",
           "Gluon 1.9.1 gluon/rnn/rnn_layer.py; MXNet 1.9.1 src/operator/rnn_impl.h"),
    Clause("VA-04", "values", "Layouts other than the default read other axes, shapes and values as the "
           "reference: Max/Avg/Global pooling with NWC/NHWC/NDHWC pools the middle axes and keeps "
           "channels last; rnn.RNN/LSTM/GRU with layout='NTC' runs over axis 1 (batch-major). "
           "(MXNet 1.9.1 on CPU refuses channels-last convolutions: not generated, see "
           "conformance/arch/conv.py.)",
           "Gluon 1.9.1 gluon/nn/conv_layers.py (layout=), gluon/rnn/rnn_layer.py; " + SEEN),
    Clause("VA-05", "values", "A training forward pass (under autograd.record(); train_mode() where "
           "nothing records) normalizes BatchNorm with the batch's mean and biased variance over "
           "every axis but 1; every other block computes as at inference (a net with a Dropout "
           "before its last blocks is not compared: its mask is random; one ending in Dropout "
           "is, as VA-07).",
           "MXNet 1.9.1 src/operator/nn/batch_norm.cc (ctx.is_train); " + AG + " record"),
    Clause("VA-06", "values", "BatchNorm's running statistics move once per training step, "
           "running = 0.9 running + 0.1 batch (mean; biased variance), in the backward pass: a "
           "forward pass alone (inference, or training without backward) leaves them (divergence "
           "'batchnorm_stats_at_forward': the training forward pass moves them).",
           "MXNet 1.9.1 src/operator/nn/batch_norm.cc (BatchNormBackwardImpl updates the moving "
           "statistics); " + SEEN),
    Clause("VA-07", "values", "Dropout(p) in a training pass (record(); train_mode() where nothing "
           "records) zeroes each element or scales it by 1 / (1 - p): every output element of a net "
           "ending in Dropout is 0 or the reference output before it times 1 / (1 - p) (float32 "
           "tolerance), and the zeroed share of the elements is p within 5 binomial standard "
           "deviations; p = 0 is the identity.  (At inference Dropout is the identity: VA-01..04.)",
           L + " Dropout; MXNet 1.9.1 src/operator/nn/dropout-inl.h; " + SEEN),
]

BY_ID = {c.id: c for c in CLAUSES}
GROUPS = sorted({c.group for c in CLAUSES})

ERROR_KINDS = {
    "not_initialized": "RuntimeError: Parameter ... has not been initialized",
    "deferred": "DeferredInitializationError (a RuntimeError)",
    "no_grad": "RuntimeError: Cannot get gradient array for Parameter ... because grad_req='null'",
    "shape_mismatch": "an error naming contradicting shapes (MXNetError 'Shape inconsistent', "
                      "keras_defer ShapeMismatchError)",
    "not_copyable": "copy.deepcopy refused (Gluon: ValueError, a CachedOp's C pointers "
                    "cannot be pickled)",
    "type_error": "TypeError: type <class 'numpy.ndarray'> not supported (an operand MXNet refuses)",
    "not_in_graph": "MXNetError: Cannot differentiate node because it is not in a computational graph",
    "no_inputs": "MXNetError: There are no inputs in computation graph that require gradient(s)",
    "no_recording": "MXNetError: autograd.record() is not available (keras_defer on JAX)",
    "stale_grad": "UserWarning: Gradient of Parameter `NAME` on context CTX has not been updated "
                  "by backward since last `step`. ...",
    "load_mismatch": "AssertionError (or ValueError: an unknown structural name) from loading a "
                     "parameter file that does not fit the net",
    "bad_file": "MXNetError from nd.load of bytes that are not an NDArray list file",
    "scheduler_defined": "UserWarning: LRScheduler of the optimizer has already been defined. ...",
}


def default_clause(group):
    """The clause a crash in `group`'s machine is charged to: its first clause (DI-01 for
    the parameter groups and for 'blocks', which has none of its own)."""
    own = [c.id for c in CLAUSES if c.group == group]
    return own[0] if own and not own[0].startswith("DI-") else "DI-01"


def select(spec):
    """Clause ids from a comma-separated list of ids or prefixes ('DI-05,DI-1')."""
    if not spec:
        return [c.id for c in CLAUSES]
    wanted = [s.strip().upper() for s in spec.split(",") if s.strip()]
    ids = [c.id for c in CLAUSES if any(c.id == w or c.id.startswith(w) for w in wanted)]
    unknown = [w for w in wanted if not any(i.startswith(w) for i in ids)]
    if unknown:
        raise ValueError("unknown clause(s): %s" % ", ".join(unknown))
    return ids
