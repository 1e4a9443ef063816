"""The NDArray clauses (ND-01..13): arrays made, indexed, written, reshaped, reduced,
compared, combined and cast, each compared with the numpy model (ndarray_model).

An example holds up to MAX_ARRAYS named arrays (a0, a1, ...) on both sides; a move
makes or writes one, and after every move `after_move` compares every live array: a
mismatch of the array the move made or wrote is the move's clause, of any other array
ND-06 (a write showed where memory is not shared, or not where it is).
"""

import numpy as np
from hypothesis import strategies as st

from conformance import array_strategies as S
from conformance import ndarray_model as NM
from conformance.checks.common import Example
from conformance.model import ModelError

MAX_ARRAYS = 8


class Arrays(Example):
    """One example of the ndarray group: named arrays, implementation and model."""

    def __init__(self, run):
        super().__init__(run, "ND-01")
        self.model = NM.ArrayModel(self.adapter.divergences, self.device)
        self.script = self.adapter.array_script_header()
        self.names = []        # live names, oldest first
        self.impl = {}         # name -> the implementation's NDArray
        self.arrays = {}       # name -> model Array
        self.count = 0
        self.written = None    # the array the last move made or wrote

    def add(self, x, a):
        name = "a%d" % self.count
        self.count += 1
        if len(self.names) == MAX_ARRAYS:
            old = self.names.pop(0)
            del self.impl[old], self.arrays[old]
        self.names.append(name)
        self.impl[name], self.arrays[name] = x, a
        self.written = name
        return name

    def pick(self, data, label="array", where=None):
        names = [n for n in self.names if where is None or where(self.arrays[n])]
        if not names:
            return None
        return data.draw(st.sampled_from(names), label=label)


# -- text of the reproducer ------------------------------------------------------------
def _slice_text(k):
    text = "%s:%s" % ("" if k.start is None else k.start, "" if k.stop is None else k.stop)
    return text + ("" if k.step is None else ":%d" % k.step)


def key_text(key):
    keys = key if isinstance(key, tuple) else (key,)
    text = ", ".join(_slice_text(k) if isinstance(k, slice) else str(k) for k in keys)
    return text + ("," if isinstance(key, tuple) and len(key) == 1 else "")


def array_text(values, dtype=None, how="list", source_dtype=None):
    if how == "numpy":
        source = "np.array(%r, dtype=%r)" % (values.tolist(), source_dtype)
    else:
        source = repr(values.tolist())
    return "nd.array(%s%s)" % (source, "" if dtype is None else ", dtype=%r" % dtype)


# -- comparing -----------------------------------------------------------------------------
def close(got, want):
    """Exact for integers, float32 tolerance for floats."""
    if got.shape != want.shape:
        return False
    if want.dtype.kind in "iu":
        return np.array_equal(got, want)
    scale = 1.0 + (float(np.abs(want).max()) if want.size else 0.0)
    return np.allclose(got, want, rtol=1e-5, atol=1e-6 * scale)


def compare(t, name, clause, printing=False):
    """The implementation's array `name` against the model: shape, dtype, values (the
    clause given), the attributes (ND-02) and, with printing, repr (ND-03)."""
    x, a = t.impl[name], t.arrays[name]
    facts, kind, _ = t.call(t.adapter.nd_facts, x)
    t.check(clause, kind is None, "%s.shape/dtype/context raise nothing; got %s" % (name, kind))
    shape, ndim, size, dtype, ctx = facts
    want = t.model.facts(a)
    t.check(clause, tuple(shape) == want[0], "%s.shape is %s; got %s" % (name, want[0], shape))
    t.check(clause, getattr(dtype, "__name__", repr(dtype)) == want[3],
            "%s.dtype is numpy.%s; got %r" % (name, want[3], dtype))
    t.check("ND-02", type(shape) is tuple and ndim == want[1] and size == want[2]
            and dtype is np.dtype(want[3]).type and ctx == want[4],
            "%s: shape a tuple, ndim %d, size %d, dtype numpy.%s (a type), context %s; got "
            "%r, %r, %r, %r, %r" % ((name,) + want[1:] + (shape, ndim, size, dtype, ctx)))
    got, kind, _ = t.call(t.adapter.nd_values, x)
    wanted = a.values()
    t.check(clause, kind is None and close(np.asarray(got), wanted),
            "%s holds\n%s\ngot\n%s" % (name, wanted, got if kind is None else kind))
    if printing:
        text, kind, _ = t.call(t.adapter.nd_repr, x)
        # exact values print as the model prints them; results within tolerance
        # (division, mean) and zeros of another sign (max(0, -0)) print the
        # implementation's own values in MXNet's format
        got = np.asarray(got)
        same = np.array_equal(got, wanted) and np.array_equal(np.signbit(got), np.signbit(wanted))
        want_text = t.model.repr(a, wanted if same else got)
        t.line("print(%s)" % name)
        t.check("ND-03", text == want_text, "repr(%s) is %r; got %r" % (name, want_text, text))


def after_move(t):
    for name in t.names:
        compare(t, name, t.context if name == t.written else "ND-06")
    t.run.steps += 1


def _produce(t, clause, text, fn, *args, expected):
    """Run a move that makes a new array; add it (both sides) when it worked."""
    t.context = clause
    t.line("a%d = %s" % (t.count, text))
    out, kind, _ = t.call(fn, *args)
    t.check(clause, kind is None, "%s raises nothing; got %s" % (text, kind))
    name = t.add(out, expected)
    compare(t, name, clause, printing=True)
    return name, out


# -- moves -----------------------------------------------------------------------------------
def create(t, data):
    how = data.draw(st.sampled_from(["list", "list", "numpy", "zeros", "ones", "full"]), label="how")
    shape = data.draw(S.shapes(), label="shape")
    dtype = data.draw(st.one_of(st.none(), S.dtypes()), label="dtype")
    source_dtype = data.draw(S.dtypes(), label="source dtype") if how == "numpy" else None
    if how in ("list", "numpy"):
        narrow = "uint8" if "uint8" in (dtype, source_dtype) else "int32"
        values = data.draw(S.values(shape, narrow), label="values")
        expected = t.model.array(values, dtype)
        text = array_text(values, dtype, how, source_dtype)
        args = dict(values=values, dtype=dtype, source_dtype=source_dtype)
    else:
        fill = {"zeros": 0, "ones": 1}.get(how) if how != "full" else \
            data.draw(S.scalars(dtype or "float32"), label="fill")
        expected = t.model.full(shape, fill, dtype)
        extra = "" if dtype is None else ", dtype=%r" % dtype
        text = ("nd.full(%r, %r%s)" % (shape, fill, extra) if how == "full"
                else "nd.%s(%r%s)" % (how, shape, extra))
        args = dict(shape=shape, fill=fill, dtype=dtype)
    _produce(t, "ND-01", text, lambda: t.adapter.nd_create(how, t.device, **args),
             expected=expected)


def index(t, data):
    name = t.pick(data)
    a, x = t.arrays[name], t.impl[name]
    key = data.draw(S.index_keys(a.shape), label="key")
    expected = t.model.getitem(a, key)
    _, out = _produce(t, "ND-04", "%s[%s]" % (name, key_text(key)), t.adapter.nd_getitem,
                      x, key, expected=expected)
    if expected is a:
        t.check("ND-05", out is x, "%s[%s] is %s itself (MXNet: a slice of step 1 without "
                "bounds returns the array)" % (name, key_text(key), name))


def _operand(t, data, shape, dtype, expand=False, exclude=None, nonzero=False, scalar=True):
    """A scalar, a new NDArray or a live one of `dtype` whose shape broadcasts with
    `shape` (sharing no memory with `exclude`): (implementation value, model value, text)."""
    forms = (["scalar"] if scalar else []) + ["array", "array", "live"]
    form = data.draw(st.sampled_from(forms), label="operand")
    if form == "live":
        def fits(b):
            return b.dtype == dtype and NM.broadcast_shape(b.shape, shape) is not None \
                and (expand or NM.broadcast_shape(b.shape, shape) == tuple(shape)) \
                and (exclude is None or not b.shares_memory(exclude)) \
                and (not nonzero or np.all(b.data != 0))
        name = t.pick(data, "operand", fits)
        if name is not None:
            return t.impl[name], t.arrays[name], name
        form = "array"
    if form == "scalar":
        value = data.draw(S.scalars(dtype, nonzero), label="scalar")
        return value, value, repr(value)
    oshape = data.draw(S.broadcast_to(shape, expand), label="operand shape")
    values = data.draw(S.values(oshape, dtype, nonzero), label="operand values")
    x, kind, _ = t.call(t.adapter.nd_create, "list", t.device, values, None, None, dtype)
    t.check("ND-01", kind is None, "nd.array raises nothing; got %s" % kind)
    return x, t.model.array(values, dtype), array_text(values, dtype)


def write(t, data):
    """x[key] = scalar / NDArray / numpy array."""
    name = t.pick(data)
    a = t.arrays[name]
    key = data.draw(st.one_of(st.just(slice(None)), S.index_keys(a.shape)), label="key")
    _, final = NM.basic_index(a.shape, key)
    form = data.draw(st.sampled_from(["scalar", "ndarray", "numpy"]), label="value")
    if form == "numpy":
        vshape = data.draw(S.broadcast_to(final), label="value shape")
        values = data.draw(S.values(vshape, a.dtype), label="values")
        source = data.draw(st.sampled_from(["float64", "int64", "float32"]), label="numpy dtype")
        value, expected, text = values.astype(source), values.astype(source), \
            "np.array(%r, dtype=%r)" % (values.tolist(), source)
    else:
        value, expected, text = _operand(t, data, final, a.dtype, exclude=a) \
            if form == "ndarray" else _operand_scalar(data, a.dtype)
    t.line("%s[%s] = %s" % (name, key_text(key), text))
    t.context, t.written = "ND-07", name
    try:
        t.model.setitem(a, key, expected)
    except ModelError:
        return   # the operand does not broadcast to the selection: not drawn for MXNet
    _, kind, _ = t.call(t.adapter.nd_setitem, t.impl[name], key, value)
    t.check("ND-07", kind is None, "%s[%s] = ... raises nothing; got %s"
            % (name, key_text(key), kind))


def _operand_scalar(data, dtype):
    value = data.draw(S.scalars(dtype), label="scalar")
    return value, value, repr(value)


def augment(t, data):
    """x[key] op= s, x op= y (x stays the same object), y[:] = x + y."""
    name = t.pick(data, where=lambda a: a.dtype != "uint8")
    if name is None:
        return
    a, x = t.arrays[name], t.impl[name]
    form = data.draw(st.sampled_from(["item", "whole", "sum"]), label="form")
    op = data.draw(st.sampled_from(["+", "-", "*"]), label="op")
    t.context, t.written = "ND-07", name
    if form == "item":
        key = data.draw(S.index_keys(a.shape), label="key")
        s = data.draw(S.scalars(a.dtype), label="scalar")
        t.line("%s[%s] %s= %r" % (name, key_text(key), op, s))
        part = t.model.getitem(a, key)
        t.model.augmented(part, op, s)
        t.model.setitem(a, key, part)
        _, kind, _ = t.call(t.adapter.nd_augmented_setitem, x, key, op, s)
        t.check("ND-07", kind is None, "%s[%s] %s= %r raises nothing; got %s"
                % (name, key_text(key), op, s, kind))
    elif form == "whole":
        value, other, text = _operand(t, data, a.shape, a.dtype, exclude=a)
        t.line("%s %s= %s" % (name, op, text))
        t.model.augmented(a, op, other)
        out, kind, _ = t.call(t.adapter.nd_augmented, x, op, value)
        t.check("ND-07", kind is None and out is x,
                "%s %s= ... keeps %s the same object; got %s"
                % (name, op, name, kind or "another object"))
    else:
        value, other, text = _operand(t, data, a.shape, a.dtype, scalar=False)
        t.line("%s[:] = %s + %s" % (name, text, name))
        t.model.setitem(a, slice(None), t.model.arith(other, "+", a))
        _, kind, _ = t.call(t.adapter.nd_assign_sum, x, value)
        t.check("ND-07", kind is None, "%s[:] = %s + %s raises nothing; got %s"
                % (name, text, name, kind))


def reshape(t, data):
    name = t.pick(data)
    a = t.arrays[name]
    codes = data.draw(S.reshape_codes(a.shape), label="codes")
    try:
        expected = t.model.reshape(a, codes)
    except ModelError:
        return   # codes MXNet refuses (a -1 after a -4): not drawn
    _produce(t, "ND-11", "%s.reshape(%r)" % (name, codes), t.adapter.nd_reshape,
             t.impl[name], codes, expected=expected)


def reduce(t, data):
    name = t.pick(data)
    a = t.arrays[name]
    op = data.draw(S.REDUCTIONS, label="op")
    if op == "mean" and a.dtype not in NM.FLOATS:
        op = "sum"   # MXNet's integer mean truncates; not drawn
    axis, keepdims = data.draw(S.reduction_axes(a.shape), label="axis")
    expected = t.model.reduce(a, op, axis, keepdims)
    if op == "prod" and np.abs(expected.data).max() >= 2 ** 24:
        op, expected = "sum", t.model.reduce(a, "sum", axis, keepdims)   # exact only below
    _produce(t, "ND-08", "%s.%s(axis=%r, keepdims=%r)" % (name, op, axis, keepdims),
             t.adapter.nd_reduce, t.impl[name], op, axis, keepdims, expected=expected)


def compare_move(t, data):
    name = t.pick(data)
    a = t.arrays[name]
    op = data.draw(st.sampled_from(sorted(NM.COMPARISONS)), label="op")
    value, other, text = _operand(t, data, a.shape, a.dtype, expand=True)
    reflected = not isinstance(other, NM.Array) and data.draw(st.booleans(), label="reflected")
    expected = t.model.compare(a, op, other, reflected)
    source = "%s %s %s" % ((text, op, name) if reflected else (name, op, text))
    _produce(t, "ND-09", "(%s)" % source, t.adapter.nd_binary, t.impl[name], op, value,
             reflected, expected=expected)


def arith(t, data):
    name = t.pick(data, where=lambda a: a.dtype != "uint8")
    if name is None:
        return
    a = t.arrays[name]
    ops = ["+", "-", "*"] + (["/"] if a.dtype in NM.FLOATS else [])
    op = data.draw(st.sampled_from(ops), label="op")
    reflected = data.draw(st.booleans(), label="reflected")
    if op == "/" and reflected and np.any(a.data == 0):
        reflected = False
    value, other, text = _operand(t, data, a.shape, a.dtype, expand=True,
                                  nonzero=op == "/" and not reflected)
    expected = t.model.arith(a, op, other, reflected)
    source = "%s %s %s" % ((text, op, name) if reflected else (name, op, text))
    _produce(t, "ND-10", "(%s)" % source, t.adapter.nd_binary, t.impl[name], op, value,
             reflected, expected=expected)


def astype_or_copy(t, data):
    name = t.pick(data)
    a, x = t.arrays[name], t.impl[name]
    dtype = data.draw(st.one_of(st.none(), S.dtypes()), label="dtype")
    if dtype == "uint8" and (np.any(a.data < 0) or np.any(a.data > 255)):
        dtype = "int32"
    if dtype is not None and dtype in NM.INTEGERS and a.dtype in NM.FLOATS \
            and np.abs(a.data).max(initial=0) >= 2 ** 31:
        dtype = "float32"
    if dtype is None:
        _, out = _produce(t, "ND-12", "%s.copy()" % name, t.adapter.nd_copy, x,
                          expected=t.model.copy(a))
    else:
        _, out = _produce(t, "ND-12", "%s.astype(%r)" % (name, dtype), t.adapter.nd_astype,
                          x, dtype, expected=t.model.astype(a, dtype))
    t.check("ND-12", out is not x, "astype/copy give a new array, not %s itself" % name)


def numpy_operand(t, data):
    """x op numpy_array: MXNet refuses it (TypeError); see divergence 'numpy_operands'."""
    name = t.pick(data, where=lambda a: a.dtype != "uint8")
    if name is None:
        return
    a = t.arrays[name]
    op = data.draw(st.sampled_from(["+", "-", "*"]), label="op")
    shape = data.draw(S.broadcast_to(a.shape), label="operand shape")
    source = data.draw(st.sampled_from(["float64", "int64"]), label="numpy dtype")
    values = data.draw(S.values(shape, a.dtype), label="values").astype(source)
    text = "(%s %s np.array(%r, dtype=%r))" % (name, op, values.tolist(), source)
    t.context = "ND-13"
    try:
        expected, error = t.model.arith(a, op, values), None
    except ModelError as exc:
        expected, error = None, exc.kind
    out, kind, _ = t.call(t.adapter.nd_binary, t.impl[name], op, values)
    if error is not None:
        t.line("%s  # raises %s" % (text, error))
        t.check("ND-13", kind == error, "%s raises %s; got %s" % (text, error, kind or "a result"))
        return
    t.check("ND-13", kind is None, "%s raises nothing; got %s" % (text, kind))
    t.line("a%d = %s" % (t.count, text))
    compare(t, t.add(out, expected), "ND-13")
