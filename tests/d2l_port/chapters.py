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

import os
import re
import subprocess
import sys

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

# name -> chapter source under ../shared/d2l (read-write.md is another issue).
CHAPTERS = {
    "ndarray": "chapter_crashcourse/ndarray.md",
    "autograd": "chapter_crashcourse/autograd.md",
    "linear-algebra": "chapter_crashcourse/linear-algebra.md",
    "probability": "chapter_crashcourse/probability.md",
    "model-construction": "chapter_deep-learning-computation/model-construction.md",
    "parameters": "chapter_deep-learning-computation/parameters.md",
    "deferred-init": "chapter_deep-learning-computation/deferred-init.md",
    "custom-layer": "chapter_deep-learning-computation/custom-layer.md",
    "use-gpu": "chapter_deep-learning-computation/use-gpu.md",
}

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
BACKEND_UNSUPPORTED = {
    ("jax", "autograd"): "autograd.record() refuses on JAX with an MXNetError naming Keras "
                         "fit and jax.grad over stateless_call (docs/backends.md)",
}


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


def chapter_source(name):
    return os.path.join(SHARED, "d2l", CHAPTERS[name])


def generate_script(name):
    """The chapter's cells as d2l-cells writes them (MXNet's version), repaired."""
    script = subprocess.run(
        [sys.executable, D2L_CELLS, chapter_source(name)],
        check=True, capture_output=True, text=True).stdout
    parts = []
    for n, code in runner.split_cells(script):
        try:
            compile(code, "<cell>", "exec")
        except SyntaxError:
            repaired = _WRAPPED.sub(lambda m: m.group(1) + "\n)", code)
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
