"""The file-format clauses (FF-01..09): MXNet's NDArray list file, written by nd.save,
save_parameters and ParameterDict.save, read by nd.load, load_parameters and
ParameterDict.load, judged by the framework-free reference parser and writer
(conformance/file_format_model.py), so a file from either implementation holds the same
bytes (but for the context) and a file MXNet wrote loads anywhere.

Moves: arrays of every dtype MXNet saves saved and loaded (FF-01, 02); files from the
reference writer in each layout loaded (FF-03); files cut short or with a wrong magic
(FF-04); a drawn net (the parameter groups' architectures) saved under each naming style
and loaded into a fresh net of the same architecture (FF-05, 06); files that do not fit
(FF-07); a hybridized net exported and imported as a SymbolBlock (FF-08, 09, once an
example: it compiles).  Values compare bit for bit, but the imported block's outputs
(float32 tolerance).
"""

import dataclasses
import os
import re
import shutil
import struct
import tempfile

import numpy as np
from hypothesis import strategies as st

from conformance import arch as A
from conformance import file_format_model as F
from conformance import strategies
from conformance.arch.rnn import Recurrent
from conformance.checks.common import Trial
from conformance.model import World


def _hybrid(node):
    """The tree with every Sequential a HybridSequential (what export needs)."""
    if isinstance(node, A.Sequential):
        return dataclasses.replace(node, hybrid=True,
                                   children=tuple(_hybrid(c) for c in node.children))
    return node


# export needs HybridBlocks throughout: containers made hybrid (a Lambda still skips)
EXPORT_DESIGNS = strategies.architectures(
    modes=("none", "some", "all"), max_layers=3, sharing=False,
    families=("dense", "conv", "rnn", "embedding")).map(lambda d: (_hybrid(d[0]), d[1]))
# nets whose first pass works (in_units given, partly given or not; never wrong), a
# recurrent layer in one of three (MXNet names its parameters apart: structural_keys)
DESIGNS = strategies.architectures(modes=("none", "some", "all"), max_layers=4,
                                   families=("rnn", "dense", "conv", "dense", "rnn",
                                             "embedding"))
NAME_CHARS = st.sampled_from("abcxyz019_.:-é")
MOVING = ("running_mean", "running_var")   # BatchNorm's auxiliary states ('aux:')


class FileFormats(Trial):
    """One example of the file_format group: a folder of files, nets built when a move
    needs one (each right after resetting the name counters, so that a fresh net of the
    same architecture has the same names)."""

    def __init__(self, run):
        super().__init__(run)
        self.context = "FF-01"
        self.folder = tempfile.mkdtemp(prefix="conformance-ff-")
        self.script = ["import os", "import numpy as np", "from numpy import inf, nan",
                       "from %s import gluon, nd" % self.adapter.module,
                       "from %s.gluon import nn, rnn" % self.adapter.module,
                       "os.makedirs(%r, exist_ok=True)  # the example's files" % self.folder,
                       ""]
        self.files = 0
        self.seed, self.value_texts = None, {}   # how _design drew the values
        self.exported = False
        divergences = self.adapter.divergences
        self.dtypes = [d for d in F.DTYPES if "jax_32bit" not in divergences
                       or d not in ("float64", "int64")]
        self.trailer = "checksum_trailer" in divergences   # keras_defer's CRC-32 trailer

    def path(self, suffix=".params"):
        self.files += 1
        return os.path.join(self.folder, "f%d%s" % (self.files, suffix))

    def finish(self):
        super().finish()
        shutil.rmtree(self.folder, ignore_errors=True)


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def _write_reference(t, path, listfile, why):
    """Write `listfile` as MXNet does, and the script line that writes it again."""
    _write(path, F.write(listfile))
    arrays = ", ".join("SavedArray(np.array(%r, dtype=%r), %d)"
                       % (a.values.tolist(), a.values.dtype.name, a.version)
                       for a in listfile.arrays)
    t.line("# %s, written as MXNet writes it" % why)
    t.line("from conformance.file_format_model import ListFile, SavedArray, write")
    t.line("open(%r, 'wb').write(write(ListFile([%s], %r)))" % (path, arrays, listfile.names))


# -- arrays -------------------------------------------------------------------------------
def _values(data, dtype, label="values"):
    """An array of `dtype`: 1 to 4 axes of 1 to 4, values from one drawn seed; floats
    with NaN, inf, -0.0 and large/small magnitudes mixed in."""
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4), label="shape"))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label=label))
    size = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == "b":
        v = rng.integers(0, 2, size).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        v = rng.integers(info.min, info.max, size, dtype=dt, endpoint=True)
    else:
        with np.errstate(over="ignore"):
            v = (rng.standard_normal(size) * 10.0 ** rng.integers(-3, 4, size)).astype(dt)
        special = np.array([np.nan, np.inf, -np.inf, -0.0, np.finfo(dt).max,
                            np.finfo(dt).tiny], dt)
        mask = rng.random(size) < 0.2
        v[mask] = rng.choice(special, int(mask.sum()))
    return v.reshape(shape)


def _src(a):
    return "np.array(%r, dtype=%r)" % (a.tolist(), a.dtype.name)


def _names(data, n):
    return data.draw(st.lists(st.text(NAME_CHARS, min_size=1, max_size=8), min_size=n,
                              max_size=n, unique=True), label="names")


def _loaded_matches(t, clause, got, want, what):
    """Compare ff_load's (kind, names, arrays) with a ListFile's loaded form."""
    kind, names, arrays = got
    t.check(clause, kind == want.loaded_kind(),
            "nd.load(%s) returns a %s; got %s" % (what, want.loaded_kind(), kind))
    t.check(clause, names == want.names, "the names are %s; got %s" % (want.names, names))
    t.check(clause, len(arrays) == len(want.arrays),
            "%d arrays; got %d" % (len(want.arrays), len(arrays)))
    for i, (g, w) in enumerate(zip(arrays, want.arrays)):
        g = np.asarray(g)
        t.check(clause, F.same_values(g, w.values),
                "array %d is %s %s\n%r\ngot %s %s\n%r" % (i, w.values.dtype.name, w.values.shape,
                                                         w.values, g.dtype.name, g.shape, g))


def save_and_load(t, data):
    """nd.save of an array, a list or a dict; the bytes parsed; nd.load back."""
    n = data.draw(st.integers(0, 3), label="arrays")
    arrays = [_values(data, data.draw(st.sampled_from(t.dtypes), label="dtype"))
              for _ in range(n)]
    form = data.draw(st.sampled_from(["array", "list", "dict"] if n == 1 else ["list", "dict"]),
                     label="form")
    given = arrays[0] if form == "array" else (
        dict(zip(_names(data, n), arrays)) if form == "dict" else arrays)
    path = t.path()
    t.context = "FF-01"
    if form == "array":
        src = "nd.array(%s, dtype=%r)" % (_src(given), given.dtype.name)
    elif form == "list":
        src = "[%s]" % ", ".join("nd.array(%s, dtype=%r)" % (_src(a), a.dtype.name) for a in given)
    else:
        src = "{%s}" % ", ".join("%r: nd.array(%s, dtype=%r)" % (k, _src(a), a.dtype.name)
                                 for k, a in given.items())
    t.line("nd.save(%r, %s)" % (path, src))
    _, kind, _ = t.call(t.adapter.ff_save, path, given, t.device)
    t.check("FF-01", kind is None, "nd.save raises nothing; got %s" % kind)
    want = F.saved_by(given)
    raw = _read(path)
    try:
        parsed = F.parse(raw, t.trailer)
    except F.FormatError as exc:
        t.check("FF-01", False, "the file is an NDArray list file; the reference parser "
                "says: %s (first bytes %s)" % (exc, raw[:40].hex()))
        return
    t.check("FF-01", [a.version for a in parsed.arrays] == [2] * n,
            "every array is written in the V2 layout (magic 0xF993FAC9); got versions %s"
            % [a.version for a in parsed.arrays])
    for a in parsed.arrays:
        a.ctx = F.CPU   # the context is the array's device: not compared
    # parse refuses anything else, so this is the file byte for byte but for the context
    t.check("FF-01", F.write(parsed) == F.write(want),
            "the file holds names %s and arrays %s; got names %s and arrays %s"
            % (want.names, [(a.values.dtype.name, a.values.shape) for a in want.arrays],
               parsed.names, [(a.values.dtype.name, a.values.shape) for a in parsed.arrays]))
    t.context = "FF-02"
    t.line("print(nd.load(%r))" % path)
    got, kind, _ = t.call(t.adapter.ff_load, path)
    t.check("FF-02", kind is None, "nd.load raises nothing; got %s" % kind)
    _loaded_matches(t, "FF-02", got, want, "f")


def reference_file(t, data):
    """A file as MXNet writes it (V2), or in the older layouts it still reads, loaded."""
    n = data.draw(st.integers(1, 3), label="arrays")
    version = data.draw(st.sampled_from([2, 2, 1, 0]), label="layout")
    arrays = [F.SavedArray(_values(data, data.draw(st.sampled_from(t.dtypes), label="dtype")),
                           version) for _ in range(n)]
    names = _names(data, n) if data.draw(st.booleans(), label="named") else []
    listfile = F.ListFile(arrays, names)
    path = t.path()
    t.context = "FF-03"
    _write_reference(t, path, listfile, "V%d arrays" % version)
    t.line("print(nd.load(%r))" % path)
    got, kind, _ = t.call(t.adapter.ff_load, path)
    t.check("FF-03", kind is None, "nd.load raises nothing; got %s" % kind)
    _loaded_matches(t, "FF-03", got, listfile, "the file")


def damaged_file(t, data):
    """A sound file cut short, or with a magic or dtype flag changed: refused."""
    n = data.draw(st.integers(1, 2), label="arrays")
    arrays = [F.SavedArray(_values(data, data.draw(st.sampled_from(t.dtypes), label="dtype")))
              for _ in range(n)]
    names = _names(data, n) if data.draw(st.booleans(), label="named") else []
    raw = F.write(F.ListFile(arrays, names))
    how = data.draw(st.sampled_from(["cut", "cut", "list magic", "array magic", "dtype flag"]),
                    label="damage")
    if how == "cut":
        at = data.draw(st.integers(0, len(raw) - 1), label="cut at")
        raw = raw[:at]
    elif how == "list magic":
        raw = struct.pack("<Q", data.draw(st.sampled_from([0x111, 0x113, 0])))[:8] + raw[8:]
    elif how == "array magic":
        raw = raw[:24] + struct.pack("<I", data.draw(st.sampled_from([0xF993FACB, 0xF993FAC0]),
                                                   label="magic")) + raw[28:]
    else:
        ndim = arrays[0].values.ndim
        at = 24 + 8 + 4 + 8 * ndim + 8
        raw = raw[:at] + struct.pack("<i", data.draw(st.sampled_from([13, 99, -1]),
                                                     label="flag")) + raw[at + 4:]
    path = t.path()
    _write(path, raw)
    t.context = "FF-04"
    t.line("open(%r, 'wb').write(bytes.fromhex(%r))  # %s" % (path, raw.hex(), how))
    t.line("nd.load(%r)  # raises MXNetError" % path)
    try:
        t.adapter.ff_load(path)
        kind = None
    except Exception as exc:  # noqa: BLE001 - the error is the observable
        kind = t.adapter.ff_error_kind(exc) or "unexpected %s: %s" % (type(exc).__name__,
                                                                     str(exc)[:200])
    t.check("FF-04", kind == "bad_file", "nd.load of a damaged file (%s) raises MXNetError; "
            "got %s" % (how, kind or "no error"))


# -- parameter files ----------------------------------------------------------------------
def _fresh_names(t, line=True):
    """Restart the name counters on both sides (a fresh net then has the names of the
    first one, as in a new process)."""
    t.adapter.reset_names()
    t.world = World(t.adapter.divergences)
    if line:
        t.line(t.adapter.ff_reset_names_line())


def _design(t, design, data, hybrid=False):
    """The model of `design` run once (its shapes known) and the values its parameters
    are to hold (drawn: no initializer gives them, so a zero bias cannot match a fresh
    net's); None if its first pass fails in the model (or, `hybrid`, a plain Block is in
    it).  Nothing is built in the implementation yet (_implementation_net)."""
    arch, width = design
    _fresh_names(t, line=False)
    t.arch, t.width = arch, width
    t.model = t.world.build(arch)
    if hybrid and not _all_hybrid(t.model):
        return None   # a Lambda (a plain Block): no HybridSequential holds it
    t.model.initialize("default", False, t.device)
    if t.model.forward(t.design_input()).error is not None:
        return None
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    values, texts = {}, {}
    for name in t.model.collect_params():
        shape = t.model.params[name].shape
        values[name] = rng.standard_normal(shape).astype(np.float32)
        texts[name] = "rng.standard_normal(%r).astype('float32')" % (shape,)
        if name.endswith("running_var"):   # a variance: positive (no NaN out of sqrt)
            values[name] = np.abs(values[name]) + np.float32(0.5)
            texts[name] = "np.abs(%s) + np.float32(0.5)" % texts[name]
    t.seed, t.value_texts = seed, texts
    return values


def _implementation_net(t, values):
    """The implementation's net of the design: built, initialized, run once, and its
    parameters set to `values`."""
    shape = t.design_input()
    _fresh_names(t)
    t.world.build(t.arch)   # the model's counters follow the implementation's
    for text in A.source_lines(t.arch):
        t.line(text)
    t.line("net.initialize()")
    t.line("net(%s)" % t.input_source(shape))
    net, kind, _ = t.call(t.adapter.build, t.arch)
    t.check("FF-05", kind is None, "the net builds; got %s" % kind)
    _, kind, _ = t.call(t.adapter.initialize, net, "default", False, t.device)
    t.check("FF-05", kind is None, "initialize() raises nothing; got %s" % kind)
    _, kind, _ = t.call(t.adapter.forward, net, shape, t.device, t.indices())
    t.check("FF-05", kind is None, "the first pass raises nothing; got %s" % kind)
    t.line("rng = np.random.default_rng(%d)  # every parameter set to random values" % t.seed)
    for name, value in values.items():
        t.line("net.collect_params()[%r].set_data(nd.array(%s))" % (name, t.value_texts[name]))
        _, kind, _ = t.call(t.adapter.ff_set, net, name, value, t.device)
        t.check("FF-05", kind is None, "%s.set_data() raises nothing; got %s" % (name, kind))
    return net


def _fresh_net(t, initialized):
    """A fresh net of the same architecture, the same names (counters reset)."""
    _fresh_names(t)
    model = t.world.build(t.arch)
    t.line("# a fresh net of the same architecture")
    for text in A.source_lines(t.arch):
        t.line(text)
    net, kind, _ = t.call(t.adapter.build, t.arch)
    t.check("FF-06", kind is None, "the fresh net builds; got %s" % kind)
    if initialized:
        t.line("net.initialize()")
        _, kind, _ = t.call(t.adapter.initialize, net, "default", False, t.device)
        t.check("FF-06", kind is None, "initialize() raises nothing; got %s" % kind)
    return net, model


_RNN_ATTR = re.compile(r"(l|r)(\d)_(i2h|h2h|h2r)_(weight|bias)\Z")


def structural_keys(model):
    """save_parameters' names -> Parameter names, as MXNet 1.9.1 writes them: the model's
    attribute paths, but a recurrent layer's 'l0_i2h_weight' is '_unfused.0.i2h_weight'
    ('_unfused.0.l_cell.i2h_weight' when bidirectional; gluon/rnn/rnn_layer.py
    _RNNLayer._collect_params_with_prefix, 'for compatibility with old parameter
    format')."""
    layer_of = {}
    for layer in model.layers:
        for name in layer.params.values():
            layer_of.setdefault(name, layer)
    out = {}
    for key, name in model.structural_keys().items():
        path, _, attr = key.rpartition(".")
        node = layer_of[name].node
        match = _RNN_ATTR.match(attr)
        if isinstance(node, Recurrent) and match:
            d, l, g, w = match.groups()
            attr = ("_unfused.%s.%s_cell.%s_%s" % (l, d, g, w) if node.bidirectional
                    else "_unfused.%s.%s_%s" % (l, g, w))
        out[(path + "." if path else "") + attr] = name
    return out


def _styles(t, values):
    """The file names of each naming style: style -> [(file name, Parameter name)]."""
    keys = structural_keys(t.model)
    names = list(t.model.collect_params())
    prefix = t.model.root.prefix
    out = {"structural": list(keys.items()),
           "full": [(n, n) for n in names],
           "arg_aux": [(("aux:" if n.endswith(MOVING) else "arg:") + n, n) for n in names]}
    if prefix and all(n.startswith(prefix) and "." not in n[len(prefix):] for n in names):
        out["stripped"] = [(n[len(prefix):], n) for n in names]
    return out


def parameters(t, data):
    """save_parameters / collect_params().save, parsed (FF-05); loaded into a fresh net
    through the route Gluon gives each naming style (FF-06)."""
    values = _design(t, data.draw(DESIGNS, label="design"), data)
    if values is None:
        return
    styles = _styles(t, values)
    style = data.draw(st.sampled_from(["structural"] + sorted(styles)), label="naming")
    entries = styles[style]
    want = F.ListFile([F.SavedArray(values[n]) for _, n in entries], [k for k, _ in entries])
    path = t.path()
    t.context = "FF-05"
    # export's names, and half of the others: the file as MXNet 1.9.1 writes it (what a
    # user brings over), not saved by the implementation
    if style == "arg_aux" or data.draw(st.sampled_from([True, False]), label="MXNet's bytes"):
        _write_reference(t, path, want, "the parameters under %s names" % style)
    else:
        net = _implementation_net(t, values)
        if style == "structural":
            t.line("net.save_parameters(%r)" % path)
            _, kind, _ = t.call(t.adapter.ff_save_parameters, net, path)
        else:
            strip = t.model.root.prefix if style == "stripped" else ""
            t.line("net.collect_params().save(%r, strip_prefix=%r)" % (path, strip))
            _, kind, _ = t.call(t.adapter.ff_save_param_dict, net, path, strip)
        t.check("FF-05", kind is None, "saving raises nothing; got %s" % kind)
        raw = _read(path)
        try:
            parsed = F.parse(raw, t.trailer)
        except F.FormatError as exc:
            t.check("FF-05", False, "the file is an NDArray list file; the reference parser "
                    "says: %s (first bytes %s)" % (exc, raw[:40].hex()))
            return
        t.check("FF-05", parsed.names == want.names,
                "the file's names are %s; got %s" % (want.names, parsed.names))
        for a in parsed.arrays:
            a.ctx = F.CPU
        t.check("FF-05", F.write(parsed) == F.write(want),
                "the file holds the parameters' values (float32, V2); got %s"
                % [(a.version, a.values.dtype.name, a.values.shape) for a in parsed.arrays])
    initialized = data.draw(st.booleans(), label="fresh net initialized")
    fresh, _ = _fresh_net(t, initialized)
    t.context = "FF-06"
    if style in ("structural", "stripped"):
        t.line("net.load_parameters(%r)" % path)
        _, kind, _ = t.call(t.adapter.ff_load_parameters, fresh, path, t.device)
    else:
        t.line("net.collect_params().load(%r)" % path)
        _, kind, _ = t.call(t.adapter.ff_load_param_dict, fresh, path, t.device)
    t.check("FF-06", kind is None, "loading %s names raises nothing; got %s" % (style, kind))
    for name, want_value in values.items():
        got = t.adapter.ff_values(fresh, name, t.device)
        t.check("FF-06", got is not None and F.same_values(np.asarray(got), want_value),
                "%s holds the saved %s\n%r\ngot\n%r" % (name, want_value.shape, want_value, got))


def mismatch(t, data):
    """A file lacking a Parameter, holding a name the net lacks, or a contradicting
    shape (written as MXNet writes it), loaded into a fresh net (FF-07)."""
    values = _design(t, data.draw(DESIGNS, label="design"), data)
    if values is None:
        return
    style = data.draw(st.sampled_from(["structural", "full"]), label="naming")
    entries = list(_styles(t, values)[style])
    initialized = data.draw(st.booleans(), label="fresh net initialized")
    fresh, fresh_model = _fresh_net(t, initialized)
    if initialized:
        fresh_model.initialize("default", False, t.device)
    how = data.draw(st.sampled_from(["missing", "extra", "shape"]), label="mismatch")
    fail_at = None   # index in the file of the entry that fails (None: before any)
    if how == "missing":
        if len({n for _, n in entries}) < 2:
            return   # an empty file loads as [] (no names): Gluon 1.9.1 fails on its .keys()
        gone = data.draw(st.sampled_from(sorted({n for _, n in entries})), label="dropped")
        entries = [(k, n) for k, n in entries if n != gone]
        arrays = [values[n] for _, n in entries]
    else:
        arrays = [values[n] for _, n in entries]
        if how == "extra":
            at = data.draw(st.integers(0, len(entries)), label="at")
            key = "%d.extra" % (len(t.model.root.children) + 3) if style == "structural" \
                else "extra0_weight"
            entries.insert(at, (key, None))
            arrays.insert(at, np.ones((2,), np.float32))
            fail_at = at
        else:
            known = [i for i, (_, n) in enumerate(entries)
                     if any(d > 0 for d in fresh_model.params[n].shape)]
            if not known:
                return
            fail_at = data.draw(st.sampled_from(known), label="which")
            shape = list(arrays[fail_at].shape)
            dim = [i for i, d in enumerate(fresh_model.params[entries[fail_at][1]].shape) if d][0]
            shape[dim] += 1
            arrays[fail_at] = np.ones(shape, np.float32)
    listfile = F.ListFile([F.SavedArray(a) for a in arrays], [k for k, _ in entries])
    path = t.path()
    t.context = "FF-07"
    _write_reference(t, path, listfile, "a file with a %s name" % how if how != "shape"
                     else "a file with a contradicting shape")
    route = t.adapter.ff_load_parameters if style == "structural" else t.adapter.ff_load_param_dict
    t.line("net.%s(%r)  # raises" % ("load_parameters" if style == "structural"
                                     else "collect_params().load", path))
    try:
        route(fresh, path, t.device)
        exc = None
    except Exception as caught:  # noqa: BLE001 - the error is the observable
        exc = caught
    want_class = ValueError if (how == "extra" and style == "structural") else AssertionError
    t.check("FF-07", exc is not None and isinstance(exc, want_class),
            "loading raises %s; got %s" % (want_class.__name__,
                                            "nothing" if exc is None else
                                            "%s: %s" % (type(exc).__name__, str(exc)[:200])))
    atomic = "atomic_load" in t.adapter.divergences
    loaded = set() if (atomic or fail_at is None) else \
        {n for _, n in entries[:fail_at] if n is not None}
    for name, want_value in values.items():
        got = t.adapter.ff_values(fresh, name, t.device)
        holds = got is not None and F.same_values(np.asarray(got), want_value)
        t.check("FF-07", holds == (name in loaded),
                "%s %s the file's value after the failed load" % (
                    name, "holds" if name in loaded else "does not hold"))


# -- export and SymbolBlock.imports ---------------------------------------------------------
OUT_RTOL, OUT_ATOL = 1e-5, 1e-5


def _all_hybrid(model):
    def visit(node):
        if isinstance(node, int):
            return model.layers[node].node.hybrid
        return node.hybrid and all(visit(c) for c in node.children)
    return visit(model.root)


def export(t, data):
    """net.export of a hybridized net that has run (FF-08); SymbolBlock.imports of what it
    wrote gives the same outputs (FF-09)."""
    design = data.draw(EXPORT_DESIGNS, label="design")
    values = _design(t, design, data, hybrid=True)
    if values is None:
        return
    t.exported = True
    net = _implementation_net(t, values)
    shape = t.design_input()
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="input seed"))
    if t.indices():
        x = rng.integers(0, t.indices(), shape).astype(np.float32)
    else:
        x = rng.uniform(-1, 1, shape).astype(np.float32)
    t.context = "FF-08"
    t.line("x = nd.array(%r)" % x.tolist())
    t.line("net.hybridize()")
    t.line("y = net(x)")
    _, kind, _ = t.call(t.adapter.hybridize, net)
    t.check("FF-08", kind is None, "hybridize() raises nothing; got %s" % kind)
    y, kind, _ = t.call(t.adapter.ff_outputs, net, x, t.device)
    t.check("FF-08", kind is None, "the hybridized net runs; got %s" % kind)
    epoch = data.draw(st.sampled_from([0, 0, 7, 123]), label="epoch")
    prefix = os.path.join(t.folder, "model%d" % t.files)
    t.files += 1
    t.line("net.export(%r, %d)" % (prefix, epoch))
    _, kind, _ = t.call(t.adapter.ff_export, net, prefix, epoch)
    t.check("FF-08", kind is None, "export raises nothing; got %s" % kind)
    symbol_file, param_file = prefix + "-symbol.json", "%s-%04d.params" % (prefix, epoch)
    t.check("FF-08", os.path.exists(symbol_file) and os.path.exists(param_file),
            "export writes %s and %s; got %s" % (os.path.basename(symbol_file),
                                                 os.path.basename(param_file),
                                                 sorted(os.listdir(t.folder))))
    raw = _read(param_file)
    try:
        parsed = F.parse(raw, t.trailer)
    except F.FormatError as exc:
        t.check("FF-08", False, "the params file is an NDArray list file; the reference "
                "parser says: %s (first bytes %s)" % (exc, raw[:40].hex()))
        return
    want = {("aux:" if n.endswith(MOVING) else "arg:") + n: v for n, v in values.items()}
    got = dict(zip(parsed.names, parsed.arrays))
    t.check("FF-08", sorted(got) == sorted(want) and len(parsed.names) == len(want),
            "the params file holds %s; got %s" % (sorted(want), parsed.names))
    for name, value in want.items():
        t.check("FF-08", F.same_values(got[name].values, value) and got[name].version == 2,
                "%s holds the parameter's value %r; got %r" % (name, value, got[name].values))
    t.context = "FF-09"
    t.line("imported = gluon.SymbolBlock.imports(%r, ['data'], %r)" % (symbol_file, param_file))
    t.line("print(imported(x))  # y")
    block, kind, _ = t.call(t.adapter.ff_imports, symbol_file, param_file, t.device)
    t.check("FF-09", kind is None, "SymbolBlock.imports raises nothing; got %s" % kind)
    out, kind, _ = t.call(t.adapter.ff_outputs, block, x, t.device)
    t.check("FF-09", kind is None, "the imported block runs; got %s" % kind)
    out, y = np.asarray(out, np.float64), np.asarray(y, np.float64)
    nan = np.isnan(y)
    t.check("FF-09", out.shape == y.shape and np.array_equal(np.isnan(out), nan) and bool(
        np.all(np.abs(out - y)[~nan] <= OUT_ATOL + OUT_RTOL * np.abs(y[~nan]))),
        "imported(x) is the net's output %s\n%r\ngot %s\n%r" % (y.shape, y, out.shape, out))
