"""The ported d2l chapters, the cells whose output is random, and the comparison rules.

Framework-neutral (the MXNet recorder imports it by path, the tests as a module).

Comparison, cell by cell, of what keras_defer prints (the swapped script) with what
MXNet 1.9.1 printed (expected/<chapter>.txt), after `normalise`:

* every cell, both sides (each rule is legitimately environment-specific):
  - N1 `mxnet` -> `keras_defer` in MXNet's output: the port's own substitution, applied to
    what the code prints about itself (`<class 'mxnet.ndarray.ndarray.NDArray'>`).
  - N2 `id(z): 139771265595520`: CPython ids are addresses; each distinct id becomes
    `<id1>`, `<id2>`, ... in order of appearance, so "the id did not change" still counts.
  - N3 ` at 0x7f...`: addresses in default reprs, numbered the same way (`<addr1>`).
  - N4 `!!! MXNetError: <message>`: only the class is compared. MXNet's C++ messages name
    its operators and build (`Operator _ones is not implemented for GPU.`, `GPU is not
    enabled`); other errors (NameError, RuntimeError, ...) are compared in full.
  - N6 numpy >= 2 scalar reprs (NEP 51: `np.int32(5)`, `np.True_`) read as numpy 1's
    (`5`, `True`): MXNet's environment has numpy 1.23.
* cells listed in RANDOM (their values come from random draws, which no two frameworks
  share), both sides:
  - N5 every number outside the layout is masked to `#` (NDArray footers
    `<NDArray 2x3 @cpu(0)>`, `shape=(...)`, tuples of integers such as the `(256, 20)`
    of `Init dense0_weight (256, 20)`, contexts and names keep their digits), blanks are
    collapsed, `[ ` / ` ]` padding dropped, and lines that numpy wrapped (a row too wide
    for 75 columns; where it wraps depends on the values' widths) are joined. What is
    left is the structure: line structure, brackets, element counts, ellipses, footers,
    and every word printed around the values.
* VALUE_CHECKS: a random cell whose structure matches must also pass the check listed
  for it there, a property of its values that holds for any draw (the 42 written through
  `data()[0,0] = 42`, relu outputs >= 0, counts that add up, initializer bounds).
* DIVERGENCES: a cell listed there may print the declared alternative instead (a
  deliberate, documented difference from MXNet: use-gpu 13).
"""

import contextlib
import math
import os
import re
import subprocess
import sys
import tempfile

try:
    from . import runner
except ImportError:  # loaded by path (the MXNet recorder): runner.py sits beside it
    import runner

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
D2L_CELLS = os.path.join(SHARED, "tools", "d2l-cells")
SCRIPTS = os.path.join(HERE, "scripts")
EXPECTED = os.path.join(HERE, "expected")

# name -> chapter source under ../shared/d2l.
CHAPTERS = {
    "ndarray": "chapter_crashcourse/ndarray.md",
    "autograd": "chapter_crashcourse/autograd.md",
    "linear-algebra": "chapter_crashcourse/linear-algebra.md",
    "probability": "chapter_crashcourse/probability.md",
    "model-construction": "chapter_deep-learning-computation/model-construction.md",
    "parameters": "chapter_deep-learning-computation/parameters.md",
    "deferred-init": "chapter_deep-learning-computation/deferred-init.md",
    "custom-layer": "chapter_deep-learning-computation/custom-layer.md",
    "read-write": "chapter_deep-learning-computation/read-write.md",
    "use-gpu": "chapter_deep-learning-computation/use-gpu.md",
}

# The chapters that read data, import `d2l` or plot (chapter_deep-learning-basics;
# softmax-regression.md and index.md have no code). Each runs in its own
# working directory of a generated layout (layout.py: Fashion-MNIST idx files under
# $MXNET_HOME, the Kaggle CSVs in ../data, the d2l package in ..), in a process of its own
# per run of all of them (isolated.py), since a dataset's default root is fixed when the
# framework is imported (MXNet: `root=os.path.join(base.data_dir(), ...)`).
BASICS = {
    "linear-regression": "chapter_deep-learning-basics/linear-regression.md",
    "linear-regression-scratch": "chapter_deep-learning-basics/linear-regression-scratch.md",
    "linear-regression-gluon": "chapter_deep-learning-basics/linear-regression-gluon.md",
    "fashion-mnist": "chapter_deep-learning-basics/fashion-mnist.md",
    "softmax-regression-scratch": "chapter_deep-learning-basics/softmax-regression-scratch.md",
    "softmax-regression-gluon": "chapter_deep-learning-basics/softmax-regression-gluon.md",
    "mlp": "chapter_deep-learning-basics/mlp.md",
    "mlp-scratch": "chapter_deep-learning-basics/mlp-scratch.md",
    "mlp-gluon": "chapter_deep-learning-basics/mlp-gluon.md",
    "underfit-overfit": "chapter_deep-learning-basics/underfit-overfit.md",
    "weight-decay": "chapter_deep-learning-basics/weight-decay.md",
    "dropout": "chapter_deep-learning-basics/dropout.md",
    "numerical-stability-and-init": "chapter_deep-learning-basics/numerical-stability-and-init.md",
    "kaggle-house-price": "chapter_deep-learning-basics/kaggle-house-price.md",
}
CHAPTERS.update(BASICS)
ISOLATED = frozenset(BASICS)

# Every chapter runs in a fresh, empty working directory (deleted afterwards), on both
# sides: read-write writes `x-file`, `x-files`, `mydict` and `mlp.params` into the
# current directory (nd.save, save_parameters) and reads them back, which must neither
# land in the clone nor find a file an earlier run left there. The in-process chapters
# get one from `scratch_directory` (replay.run_chapter, the recorder's runs), the
# laid-out ones theirs from layout.chapter_dir.


@contextlib.contextmanager
def scratch_directory(name):
    """A fresh temporary directory, made the working directory for the block (the
    previous one is restored and the directory deleted after it)."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="d2l_port_%s_" % name) as directory:
        os.chdir(directory)
        try:
            yield directory
        finally:
            os.chdir(previous)

# Epoch counts the test lowers, on both sides, so that the chapters run in seconds
# (underfit-overfit: 3 x 1000 epochs of 10 steps, weight-decay: 4 x 100 epochs of 20,
# kaggle-house-price: 5 folds x 100 epochs of 19 steps + 100 of 23: ~50000 Python-level
# training steps, minutes on a 2-core machine):
# name -> [(text of the stored script, what runs instead)]. Only chapters whose data the
# code itself makes (or whose data has a fixed size: Kaggle's 1460 rows) are here;
# Fashion-MNIST is made smaller instead (layout.FASHION_MNIST_SIZES). Every cell these
# numbers reach prints random values (compared by structure), and the recorder checks
# on MXNet that the full-length run prints the same structure and passes the same value
# checks (D2L_PORT_FULL=1 runs the stored scripts as they are).
SCALE = {
    "underfit-overfit": [("num_epochs = 1000\n", "num_epochs = 20\n")],
    "weight-decay": [("batch_size, num_epochs, lr = 1, 100, 0.003",
                      "batch_size, num_epochs, lr = 1, 10, 0.003")],
    "kaggle-house-price": [("k, num_epochs, lr, weight_decay, batch_size = 5, 100, 5, 0, 64",
                            "k, num_epochs, lr, weight_decay, batch_size = 5, 5, 5, 0, 64")],
}


def full_runs():
    """D2L_PORT_FULL=1: run the stored scripts as they are (no SCALE)."""
    return os.environ.get("D2L_PORT_FULL", "") not in ("", "0")


def runnable_script(script, name, full=None):
    """The script as the test runs it: SCALE applied unless full."""
    if full is None:
        full = full_runs()
    if not full:
        for old, new in SCALE.get(name, []):
            if old not in script:
                raise ValueError("SCALE of %s: %r is not in the script" % (name, old))
            script = script.replace(old, new)
    return script

# (chapter, cell) -> why its printed values are random. Compared by structure (N5).
# tests/mxnet_reference/record_d2l.py checks this list against MXNet: it runs every
# chapter unseeded and with other seeds, and the cells whose output changes must be
# exactly these (autograd 10 is listed by analysis: see its reason).
RANDOM = {
    ("ndarray", 6): "nd.empty: uninitialised memory",
    ("ndarray", 10): "nd.random.normal",
    ("autograd", 10): "a.grad == d / a for a random a: [0.] for ~6% of draws with a < 0 "
                      "(100 * b / a rounds); seeds 0-299 in MXNet",
    ("probability", 2): "nd.random.multinomial",
    ("probability", 3): "nd.random.multinomial",
    ("probability", 5): "frequencies of 1000 multinomial rolls",
    ("probability", 6): "running counts of 1000 multinomial rolls",
    ("probability", 7): "running frequencies of multinomial rolls",
    ("model-construction", 1): "output of a net with default-initialized (uniform) weights",
    ("model-construction", 3): "output of a net with default-initialized weights",
    ("model-construction", 5): "output of a net with default-initialized weights",
    ("model-construction", 7): "FancyMLP on random weights and a random constant",
    ("model-construction", 8): "FancyMLP on random weights and a random constant",
    ("parameters", 1): "output of a net with default-initialized weights",
    ("parameters", 4): "default-initialized (uniform) weight values",
    ("parameters", 9): "output of a net with default-initialized weights",
    ("parameters", 12): "init.Normal(sigma=0.01) weight values",
    ("parameters", 14): "init.Xavier weight values",
    ("parameters", 15): "MyInit draws nd.random.uniform",
    ("parameters", 16): "MyInit's random values, plus 1",
    ("custom-layer", 4): "mean of a centred random output: float rounding noise",
    ("custom-layer", 8): "MyDense on default-initialized weights and random input",
    ("custom-layer", 9): "MyDense net on default-initialized weights and random input",
    # chapter_deep-learning-basics (BASICS): MXNet draws the same numbers on every
    # unseeded run (its default seed), but what keras_defer draws is its own
    ("linear-regression", 2): "seconds a 10000-step Python loop of c[i] = a[i] + b[i] takes",
    ("linear-regression", 3): "seconds one vectorised a + b takes",
    ("linear-regression-scratch", 3): "features drawn with nd.random.normal",
    ("linear-regression-scratch", 6): "a random.shuffle'd minibatch of random features",
    ("linear-regression-scratch", 12): "losses of SGD from random weights on shuffled "
                                       "minibatches",
    ("linear-regression-scratch", 13): "estimation errors of that training",
    ("linear-regression-gluon", 3): "a shuffled minibatch (DataLoader) of random features",
    ("linear-regression-gluon", 9): "losses of Trainer('sgd') from init.Normal weights",
    ("linear-regression-gluon", 10): "estimation errors of that training",
    ("fashion-mnist", 11): "seconds one pass over the DataLoader takes",
    ("softmax-regression-scratch", 7): "softmax of nd.random.normal draws",
    ("softmax-regression-scratch", 14): "accuracy of random weights",
    ("softmax-regression-scratch", 15): "train_ch3 from random weights, shuffled batches",
    ("softmax-regression-gluon", 6): "train_ch3 from init.Normal weights, shuffled batches",
    ("mlp-scratch", 7): "train_ch3 from random weights, shuffled batches",
    ("mlp-gluon", 3): "train_ch3 from init.Normal weights, shuffled batches",
    ("dropout", 2): "dropout masks drawn with nd.random.uniform",
    ("dropout", 5): "train_ch3 with dropout, random weights, shuffled batches",
    ("dropout", 7): "train_ch3 with nn.Dropout, init.Normal weights, shuffled batches",
    ("numerical-stability-and-init", 1): "products of nd.random.normal matrices",
    ("underfit-overfit", 3): "features drawn with nd.random.normal and nd.random.shuffle",
    ("underfit-overfit", 6): "losses and weights after SGD from random weights",
    ("underfit-overfit", 7): "losses and weights after SGD from random weights",
    ("underfit-overfit", 8): "losses and weights after SGD from random weights",
    ("weight-decay", 5): "norm of weights trained from nd.random.normal",
    ("weight-decay", 6): "norm of weights trained from nd.random.normal",
    ("weight-decay", 8): "norm of weights trained from init.Normal(sigma=1)",
    ("weight-decay", 9): "norm of weights trained from init.Normal(sigma=1)",
    ("kaggle-house-price", 14): "k-fold rmse of nets from random weights, shuffled batches",
    ("kaggle-house-price", 16): "rmse of a net from random weights, shuffled batches",
}

# (chapter, cell) -> (the output keras_defer prints instead, after normalisation; why).
DIVERGENCES = {
    ("use-gpu", 13): (
        "!!! RuntimeError: Parameter 'dense0_weight' has not been initialized. Note that "
        "you should initialize parameters and create Trainer with Block.collect_params() "
        "instead of Block.params because the later does not include Parameters of nested "
        "child Blocks\n",
        "initialize() is all-or-nothing (docs/divergences.md): cell 12's "
        "net.initialize(ctx=mx.gpu()) fails on the missing GPU and changes nothing, so "
        "net(x) says the net is not initialized. MXNet failed on the bias after it had "
        "registered the weight's deferred initialization, so its net(x) tries the GPU "
        "again (MXNetError)."),
}

# (backend, chapter, cell) -> (what keras_defer prints on that Keras backend instead, why):
# a difference of the backend's own arithmetic, documented in docs/backends.md.
BACKEND_DIVERGENCES = {
    ("jax", "ndarray", 12): (
        "\n[2.7182817e+00 7.3890562e+00 5.4598152e+01 2.9809580e+03]\n<NDArray 4 @cpu(0)>\n",
        "XLA's float32 exp on the CPU is one unit in the last place off MXNet's (and "
        "TensorFlow's and PyTorch's) for exp(4): 54.598152 instead of 54.598148."),
}

# Chapters a Keras backend cannot run, and why (the test checks that they still fail
# there, so the entry goes when the backend gains the feature).
_NO_RECORDING_ON_JAX = ("autograd.record() refuses on JAX with an MXNetError naming Keras "
                        "fit and jax.grad over stateless_call (docs/backends.md)")
BACKEND_UNSUPPORTED = {
    ("jax", "autograd"): _NO_RECORDING_ON_JAX,
}
# every chapter_deep-learning-basics chapter but these two trains under record()
BACKEND_UNSUPPORTED.update({("jax", name): _NO_RECORDING_ON_JAX for name in BASICS
                            if name not in ("linear-regression", "fashion-mnist")})


def _keras_backend():
    import keras

    return keras.backend.backend()


def _sums(values, size, wanted, tol):
    groups = [values[i:i + size] for i in range(0, len(values), size)]
    return len(groups) == len(wanted) and all(
        abs(sum(group) - want) <= tol for group, want in zip(groups, wanted))


def _every(values, count, test):
    return len(values) == count and all(test(v) for v in values)


# (chapter, cell) -> (what every run prints, a test of the masked numbers in print order).
# A random cell whose structure matches must also pass its check here: the properties of
# its values that do not depend on the draws (a written 42, relu outputs >= 0, counts
# that add up, initializer bounds). The recorder checks each on every MXNet run.
_XAVIER = (3.0 / ((20 + 256) / 2.0)) ** 0.5  # init.Xavier(): uniform, avg, magnitude 3
VALUE_CHECKS = {
    ("ndarray", 10): ("12 finite standard-normal draws, |v| < 7",
                      lambda v: _every(v, 12, lambda x: abs(x) < 7)),
    ("autograd", 10): ("one value, 0 or 1", lambda v: _every(v, 1, lambda x: x in (0, 1))),
    ("probability", 2): ("one integer outcome in 0..5",
                         lambda v: _every(v, 1, lambda x: x in range(6))),
    ("probability", 3): ("10 + 50 integer outcomes in 0..5",
                         lambda v: _every(v, 60, lambda x: x in range(6))),
    ("probability", 5): ("6 frequencies in [0, 1] adding up to 1",
                         lambda v: _every(v, 6, lambda x: 0 <= x <= 1)
                         and _sums(v, 6, [1], 1e-5)),
    ("probability", 6): ("counts shown (rows of columns 0-2, 997-999) add up to 1, 2, 3, "
                         "998, 999, 1000 per column",
                         lambda v: len(v) == 36 and all(
                             sum(v[r * 6 + c] for r in range(6)) == want
                             for c, want in enumerate([1, 2, 3, 998, 999, 1000]))),
    ("probability", 7): ("three columns of 6 frequencies, each adding up to 1",
                         lambda v: _every(v, 18, lambda x: 0 <= x <= 1)
                         and _sums(v, 6, [1, 1, 1], 1e-5)),
    ("parameters", 4): ("init.Uniform(0.07): |v| <= 0.07",
                        lambda v: _every(v, 36, lambda x: abs(x) <= 0.07)),
    ("parameters", 12): ("init.Normal(0.01): 20 values, |v| < 0.1",
                         lambda v: _every(v, 20, lambda x: abs(x) < 0.1)),
    ("parameters", 14): ("42 (init.Constant(42)), then 20 init.Xavier values |v| <= %.4f"
                         % _XAVIER,
                         lambda v: len(v) == 21 and v[0] == 42
                         and _every(v[1:], 20, lambda x: abs(x) <= _XAVIER + 1e-6)),
    ("parameters", 15): ("MyInit: 20 values, each 0 or 5 <= |v| <= 10",
                         lambda v: _every(v, 20, lambda x: x == 0 or 5 <= abs(x) <= 10)),
    ("parameters", 16): ("the written 42 first, then MyInit's values plus 1: 1, 6..11 or "
                         "-9..-4 (data() writes through to the parameter)",
                         lambda v: len(v) == 20 and v[0] == 42 and _every(
                             v[1:], 19, lambda x: x == 1 or 6 <= x <= 11 or -9 <= x <= -4)),
    ("custom-layer", 4): ("the mean of a centred output: |v| < 1e-5",
                          lambda v: _every(v, 1, lambda x: abs(x) < 1e-5)),
    ("custom-layer", 8): ("relu outputs: 6 values >= 0", lambda v: _every(v, 6, lambda x: x >= 0)),
    ("custom-layer", 9): ("relu outputs: 2 values >= 0", lambda v: _every(v, 2, lambda x: x >= 0)),
}


def _linear(x0, x1):
    return 2 * x0 - 3.4 * x1 + 4.2


def _minibatch_of_the_line(v, rows):
    """rows (x0, x1) pairs, then rows labels: each label on 2 x0 - 3.4 x1 + 4.2 (the noise
    has sigma 0.01)."""
    return len(v) == 3 * rows and all(
        abs(v[2 * rows + i] - _linear(v[2 * i], v[2 * i + 1])) < 0.1 for i in range(rows))


def _epochs(v, count, falls=True):
    """count lines 'epoch i, loss l, train acc a, test acc t': epochs 1..count, losses
    positive, accuracies in [0, 1], the last loss below the first (when falls)."""
    if len(v) != 4 * count:
        return False
    rows = [v[4 * i:4 * i + 4] for i in range(count)]
    return (all(r[0] == i + 1 and 0 < r[1] < 100 and 0 <= r[2] <= 1 and 0 <= r[3] <= 1
                for i, r in enumerate(rows))
            and (not falls or rows[-1][1] < rows[0][1]))


def _losses_then_weights(v, weights):
    return len(v) == 2 + weights and all(math.isfinite(x) for x in v) and v[0] > 0 < v[1]


def _poly_features(v):
    """2 features x, their 20 features x^k / k!, 2 labels near the cubic (noise 0.1)."""
    if len(v) != 2 + 40 + 2:
        return False
    xs, rows, labels = v[:2], [v[2:22], v[22:42]], v[42:]
    for x, row, label in zip(xs, rows, labels):
        for k in range(20):
            want = x ** k / math.factorial(k)
            if abs(row[k] - want) > 1e-5 * max(1.0, abs(want)) + 1e-30:
                return False
        if abs(label - (5 + 1.2 * x - 3.4 * x ** 2 / 2 + 5.6 * x ** 3 / 6)) > 0.6:
            return False
    return True


def _dropout(v):
    """X = 0..15 (drop 0), then each 0 or 2x (drop 0.5), then zeros (drop 1)."""
    return (len(v) == 48 and v[:16] == list(range(16))
            and all(x in (0, 2 * i) for i, x in enumerate(v[16:32]))
            and v[32:] == [0] * 16)


def _k_fold(v):
    """5 lines 'fold i, train rmse: t, valid rmse: v', then '5-fold validation: avg train
    rmse: T, avg valid rmse: V' with T, V the means of the folds' (printed %f)."""
    if len(v) != 15 + 3:
        return False
    folds = [v[3 * i:3 * i + 3] for i in range(5)]
    return (all(f[0] == i and f[1] > 0 and f[2] > 0 for i, f in enumerate(folds))
            and v[15] == 5
            and abs(v[16] - sum(f[1] for f in folds) / 5) < 1e-5
            and abs(v[17] - sum(f[2] for f in folds) / 5) < 1e-5)


VALUE_CHECKS.update({
    ("linear-regression", 2): ("seconds >= 0", lambda v: _every(v, 1, lambda x: x >= 0)),
    ("linear-regression", 3): ("seconds >= 0", lambda v: _every(v, 1, lambda x: x >= 0)),
    ("linear-regression-scratch", 3): (
        "features[0] and labels[0]: the label on 2 x0 - 3.4 x1 + 4.2 (noise 0.01)",
        lambda v: _minibatch_of_the_line(v, 1)),
    ("linear-regression-scratch", 6): ("10 (x0, x1) and their labels on the line",
                                       lambda v: _minibatch_of_the_line(v, 10)),
    ("linear-regression-scratch", 12): (
        "3 epochs' losses falling, the last < 0.01",
        lambda v: len(v) == 6 and v[0::2] == [1, 2, 3] and v[5] < v[1] and v[5] < 0.01),
    ("linear-regression-scratch", 13): ("errors of w (2) and b (1) below 0.01",
                                        lambda v: _every(v, 3, lambda x: abs(x) < 0.01)),
    ("linear-regression-gluon", 3): ("10 (x0, x1) and their labels on the line",
                                     lambda v: _minibatch_of_the_line(v, 10)),
    ("linear-regression-gluon", 9): (
        "3 epochs' losses falling, the last < 0.01",
        lambda v: len(v) == 6 and v[0::2] == [1, 2, 3] and v[5] < v[1] and v[5] < 0.01),
    ("linear-regression-gluon", 10): ("errors of w (2) and b (1) below 0.01",
                                      lambda v: _every(v, 3, lambda x: abs(x) < 0.01)),
    ("fashion-mnist", 11): ("seconds >= 0", lambda v: _every(v, 1, lambda x: x >= 0)),
    ("softmax-regression-scratch", 7): (
        "2 rows of 5 probabilities adding up to 1, then those 2 sums",
        lambda v: _every(v, 12, lambda x: 0 < x <= 1.00001)
        and _sums(v[:10], 5, [1, 1], 1e-5) and _every(v[10:], 2, lambda x: abs(x - 1) < 1e-5)),
    ("softmax-regression-scratch", 14): ("an accuracy in [0, 1]",
                                         lambda v: _every(v, 1, lambda x: 0 <= x <= 1)),
    ("softmax-regression-scratch", 15): ("5 epochs, the loss falling, accuracies in [0, 1]",
                                         lambda v: _epochs(v, 5)),
    ("softmax-regression-gluon", 6): ("5 epochs, the loss falling, accuracies in [0, 1]",
                                      lambda v: _epochs(v, 5)),
    ("mlp-scratch", 7): ("10 epochs, the loss falling, accuracies in [0, 1]",
                         lambda v: _epochs(v, 10)),
    ("mlp-gluon", 3): ("10 epochs, the loss falling, accuracies in [0, 1]",
                       lambda v: _epochs(v, 10)),
    ("dropout", 2): ("X (0..15) as it is, each element 0 or doubled, all zeros", _dropout),
    ("dropout", 5): ("10 epochs, the loss falling, accuracies in [0, 1]",
                     lambda v: _epochs(v, 10)),
    ("dropout", 7): ("10 epochs, the loss falling, accuracies in [0, 1]",
                     lambda v: _epochs(v, 10)),
    ("numerical-stability-and-init", 1): (
        "16 finite values, the 100 of 'After multiplying 100 matrices', 16 finite values",
        lambda v: _every(v, 33, math.isfinite) and v[16] == 100),
    ("underfit-overfit", 3): ("x, x^k / k! for k < 20, labels near the cubic",
                              _poly_features),
    ("underfit-overfit", 6): ("2 positive losses, 4 finite weights",
                              lambda v: _losses_then_weights(v, 4)),
    ("underfit-overfit", 7): ("2 positive losses, 3 finite weights",
                              lambda v: _losses_then_weights(v, 3)),
    ("underfit-overfit", 8): ("2 positive losses, 20 finite weights",
                              lambda v: _losses_then_weights(v, 20)),
    ("weight-decay", 5): ("a positive norm", lambda v: _every(v, 1, lambda x: 0 < x < 1e6)),
    ("weight-decay", 6): ("a positive norm", lambda v: _every(v, 1, lambda x: 0 < x < 1e6)),
    ("weight-decay", 8): ("a positive norm", lambda v: _every(v, 1, lambda x: 0 < x < 1e6)),
    ("weight-decay", 9): ("a positive norm", lambda v: _every(v, 1, lambda x: 0 < x < 1e6)),
    ("kaggle-house-price", 14): ("folds 0-4 with positive rmses, k = 5, their averages",
                                 _k_fold),
    ("kaggle-house-price", 16): ("a positive rmse", lambda v: _every(v, 1, lambda x: x > 0)),
})


def check_values(chapter, n, output):
    """None when the output passes the cell's VALUE_CHECKS entry, else what failed."""
    description, test = VALUE_CHECKS[(chapter, n)]
    try:
        values = masked_values(output)
        ok = test(values)
    except Exception as exc:  # noqa: BLE001 - a check that cannot run fails
        return "%s (check raised %r)" % (description, exc)
    return None if ok else "%s; printed values: %s" % (description, values[:40])

# d2l-cells wraps a cell's last expression as `_v = (EXPR)`; when EXPR ends in a comment
# the parenthesis is commented out (parameters.md cell 1: `net(x)  # Forward
# computation`) and the cell is a SyntaxError in both frameworks. generate_script moves
# the parenthesis to a line of its own there, and only there (a cell that compiles is
# left as d2l-cells wrote it).
_WRAPPED = re.compile(r"^(_v = \(.*#.*)\)$", re.M)


# d2l-cells leaves out a cell that is not plain Python: the chapters' first cells hold
# IPython's `%matplotlib inline` line magic next to their imports, so every later cell
# would be a NameError in both frameworks. generate_script takes such a cell from the
# chapter, drops its magic lines (lines starting with % or !: IPython's, which a script
# cannot run; `%matplotlib inline` only picks the notebook's backend, MPLBACKEND=Agg
# stands for it) and wraps its last expression as d2l-cells does. Only in the laid-out
# chapters (ISOLATED): part 1's two skipped cells stay as recorded (probability 8 only
# plots, through IPython, which the in-process chapters do not load; use-gpu 1 is
# `!nvidia-smi` alone).
_SKIPPED = re.compile(r"^# cell (\d+) is not plain Python: skipped\n", re.M)
_MAGIC = re.compile(r"^[ \t]*[%!].*\n?", re.M)
_CELL = re.compile(r"```\{\.python \.input[^}]*\}\n(.*?)```", re.S)
# A last expression that ends in `;` (linear-regression-scratch 4: `plt.scatter(...);`)
# is one a notebook does not show; d2l-cells wraps it as `_v = (EXPR;)`, a SyntaxError.
# generate_script runs it as the notebook does: the statement, nothing printed.
_SILENCED = re.compile(r"^_v = \((.*);\)\nif _v is not None: print\(_v\)$", re.M | re.S)


def chapter_source(name):
    return os.path.join(SHARED, "d2l", CHAPTERS[name])


def _wrap_last_expression(code):
    """What d2l-cells does to a cell: its last bare expression is printed."""
    import ast

    tree = ast.parse(code)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        lines = code.splitlines()
        head = "\n".join(lines[: last.lineno - 1])
        expr = "\n".join(lines[last.lineno - 1: last.end_lineno])
        code = (head + "\n" if head else "") + "_v = (%s)\nif _v is not None: print(_v)" % expr
    return code


def _unskipped(name, n, swap):
    with open(chapter_source(name), encoding="utf-8") as handle:
        code = _CELL.findall(handle.read())[n - 1].rstrip()
    code = _wrap_last_expression(_MAGIC.sub("", code).strip("\n"))
    return (runner.swap(code) if swap else code) + "\n"


def generate_script(name, swap=False):
    """The chapter's cells as d2l-cells writes them (MXNet's version; `swap`: what
    `d2l-cells --swap` writes), repaired (the repairs above, and only where needed)."""
    script = subprocess.run(
        [sys.executable, D2L_CELLS, chapter_source(name)] + (["--swap"] if swap else []),
        check=True, capture_output=True, text=True).stdout
    return repair_script(script, name, swap)


def repair_script(script, name, swap=False):
    """d2l-cells' script of the chapter (`swap`: of --swap), with the repairs above."""
    parts = []
    for n, code in runner.split_cells(script):
        skipped = _SKIPPED.match(code)
        if skipped and name in ISOLATED:
            code = _unskipped(name, int(skipped.group(1)), swap)
        try:
            compile(code, "<cell>", "exec")
        except SyntaxError:
            repaired = _WRAPPED.sub(lambda m: m.group(1) + "\n)", code)
            repaired = _SILENCED.sub(lambda m: m.group(1) + ";", repaired)
            compile(repaired, "<cell %d of %s>" % (n, name), "exec")  # must now compile
            code = repaired
        parts.append(code if n == 0 else "print('--- cell %d')\n%s" % (n, code))
    return "".join(parts)


def script_path(name):
    return os.path.join(SCRIPTS, name + ".py")


def expected_path(name):
    return os.path.join(EXPECTED, name + ".txt")


# ----------------------------------------------------------------------------- normalise

_ID = re.compile(r"(\bid\(\w+\): )(\d+)")
_ADDR = re.compile(r"( at )(0x[0-9a-fA-F]+)")
_MXNET_ERROR = re.compile(r"^(!!! MXNetError):.*$", re.M)
_NUMPY_SCALAR = re.compile(r"\bnp\.(?:u?int|float|complex)\d+\(([^()]*)\)")
_NUMPY_BOOL = re.compile(r"\bnp\.(True|False)_")
_PROTECTED = re.compile("|".join([
    r"<NDArray [^>]*>",                      # <NDArray 2x3 @cpu(0)>
    r"shape=\([^)]*\)",                      # Parameter ... (shape=(256, 0), ...)
    r"\(\d+(?:, \d+)*,?\)",                   # (256, 20), (3,): shapes
    r"\b(?:cpu|gpu|cpu_pinned)\(\d+\)",       # contexts
    r"\b(?!(?:nan|inf)\b)[A-Za-z_]\w*",       # names: dense0_weight, float32
]))
_PRIVATE = 0xF0000
_NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:nan|inf|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w])")


def _number(pattern, text, label):
    seen = {}

    def repl(match):
        key = match.group(2)
        seen.setdefault(key, "<%s%d>" % (label, len(seen) + 1))
        return match.group(1) + seen[key]

    return pattern.sub(repl, text)


def _protect(text):
    """The text with every protected span (N5) replaced by one private-use character."""
    saved = []

    def protect(match):  # one private-use character per protected span: no digits
        saved.append(match.group(0))
        return chr(_PRIVATE + len(saved) - 1)

    return _PROTECTED.sub(protect, text), saved


def masked_values(text):
    """The numbers N5 masks, in the order printed, as floats (for VALUE_CHECKS)."""
    return [float(token) for token in _NUMBER.findall(_protect(text)[0])]


def mask_numbers(text):
    """N5: the structure of printed values (numbers -> '#', layout kept)."""
    text, saved = _protect(text)
    text = _NUMBER.sub("#", text)
    text = re.sub("[%s-%s]" % (chr(_PRIVATE), chr(_PRIVATE + 0xFFFF)),
                  lambda m: saved[ord(m.group(0)) - _PRIVATE], text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"[ \t]+", " ", line)
        line = re.sub(r"\[ ", "[", line)
        line = re.sub(r" \]", "]", line)
        if lines and line.startswith(" #") and not lines[-1].endswith(">"):
            lines[-1] = lines[-1].rstrip() + line  # a row numpy wrapped
        else:
            lines.append(line)
    return "\n".join(lines)


def normalise(text, random=False, mxnet_side=False):
    if mxnet_side:
        text = re.sub(r"\bmxnet\b", "keras_defer", text)       # N1
    text = _number(_ID, text, "id")                             # N2
    text = _number(_ADDR, text, "addr")                         # N3
    text = _MXNET_ERROR.sub(r"\1", text)                        # N4
    text = _NUMPY_BOOL.sub(r"\1", _NUMPY_SCALAR.sub(r"\1", text))  # N6
    if random:
        text = mask_numbers(text)                               # N5
    return text


class CellResult:
    def __init__(self, chapter, n, code, expected, actual, error=None):
        self.chapter, self.n, self.code = chapter, n, code
        self.expected, self.actual, self.error = expected, actual, error
        self.random = (chapter, n) in RANDOM
        self.want = normalise(expected, self.random, mxnet_side=True)
        self.got = normalise(actual or "", self.random)
        divergence = DIVERGENCES.get((chapter, n)) or BACKEND_DIVERGENCES.get(
            (_keras_backend(), chapter, n))
        self.match = actual is not None and (
            self.got == self.want or (divergence is not None and self.got == divergence[0]))
        self.value_problem = None
        if self.match and (chapter, n) in VALUE_CHECKS:
            self.value_problem = check_values(chapter, n, actual)
            self.match = self.value_problem is None

    @property
    def mode(self):
        return "structure" if self.random else "exact"


def compare(name, cells, expected_text):
    """[CellResult] for every cell MXNet printed, given the cells keras_defer ran."""
    expected = runner.parse_transcript(expected_text)
    ran = {cell.n: cell for cell in cells}
    results = []
    for n in sorted(expected):
        cell = ran.get(n)
        results.append(CellResult(
            name, n, cell.code if cell else "", expected[n],
            cell.output if cell else None, cell.error if cell else None))
    return results
