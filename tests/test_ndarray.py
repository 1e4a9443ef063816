"""keras_defer's NDArray against MXNet 1.9.1's, recorded by tests/mxnet_reference/.

The scenarios (tests/mxnet_reference/ndarray_scenarios.py) run unchanged on both;
record_ndarray.py stored MXNet's results. Then hypothesis checks what a table cannot
cover: broadcasting arithmetic, reductions, reshape codes and indexing against numpy
under MXNet's rules; and the hooks the rest of keras_defer builds on (views,
variable-backed arrays, ``apply``).
"""

import json
import os
import types

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_defer.context import cpu, current_context
from keras_defer.errors import MXNetError
from keras_defer.nd import _backend
from keras_defer.nd import api as nd
from keras_defer.nd import ndarray as ndarray_module
from keras_defer.nd.shape import infer_reshape
from tests.mxnet_reference import ndarray_scenarios

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "mxnet_reference", "data", "ndarray_scenarios.json")) as handle:
    RECORDED = json.load(handle)

FW = types.SimpleNamespace(nd=nd, cpu=cpu, np=np)
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _message(text):
    return text.replace("mxnet.ndarray.ndarray.NDArray", "keras_defer.ndarray.ndarray.NDArray")


def _values_equal(got, want, mode):
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    assert got.shape == want.shape
    if mode == "exact":
        np.testing.assert_array_equal(got, want)
    else:
        # MXNet's own float32 kernels are off by up to ~3e-6 (its log_softmax).
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def compare(mode, got, want, where="result"):
    """Assert that keras_defer's description ``got`` matches MXNet's ``want``."""
    if want["type"] == "error":
        assert got["type"] == "error", "%s: MXNet raised %s (%s), keras_defer gave %r" % (
            where, want["class"], want["message"][:200], got)
        assert got["class"] == want["class"], "%s: %s vs MXNet's %s: %s" % (
            where, got["class"], want["class"], got["message"])
        if mode in ("exact", "gpu") and want["class"] != "MXNetError":
            assert _message(got["message"]) == _message(want["message"]), where
        return
    assert got["type"] == want["type"], "%s: %r vs MXNet's %r" % (where, got, want)
    kind = want["type"]
    if kind in ("list", "tuple"):
        assert len(got["items"]) == len(want["items"]), where
        for i, (g, w) in enumerate(zip(got["items"], want["items"])):
            compare(mode, g, w, "%s[%d]" % (where, i))
    elif kind == "warned":
        assert got["warnings"] == want["warnings"], where
        compare(mode, got["result"], want["result"], where)
    elif kind in ("NDArray", "numpy.ndarray"):
        assert got["shape"] == want["shape"], "%s: shape %s vs %s" % (
            where, got["shape"], want["shape"])
        assert got["dtype"] == want["dtype"], "%s: dtype %s vs %s" % (
            where, got["dtype"], want["dtype"])
        if mode == "gpu":
            # GPU kernels may round the last bit differently (XLA's divisions and square
            # roots); values must agree to float32 tolerance, printing wherever they
            # agree exactly.
            _values_equal(got["values"], want["values"], "close")
            exact = np.array_equal(np.asarray(got["values"], dtype=float),
                                   np.asarray(want["values"], dtype=float), equal_nan=True)
            mode = "exact" if exact else "close"
        elif mode != "meta":
            _values_equal(got["values"], want["values"], mode)
        if mode == "exact":
            key = "repr" if kind == "NDArray" else "str"
            assert got[key] == want[key], "%s printed\n%s\nMXNet printed\n%s" % (
                where, got[key], want[key])
    elif kind == "numpy scalar":
        assert got["dtype"] == want["dtype"], where
        if mode == "exact":
            assert got["str"] == want["str"], where
        elif mode in ("close", "gpu"):
            _values_equal(got["values"], want["values"], mode)
    elif mode != "meta":
        assert got["repr"] == want["repr"], "%s: %s vs MXNet's %s" % (
            where, got["repr"], want["repr"])


# ------------------------------------------------------------- recorded scenarios


def _uses_64_bits(description):
    return '"float64"' in json.dumps(description) or '"int64"' in json.dumps(description)


# JAX computes in 32 bits unless jax_enable_x64 is set (keras_defer leaves it alone):
# float64/int64 arrays come out as float32/int32 there, so float64 * float32 is no
# dtype error either.
if keras.backend.backend() == "jax":
    import jax

    NO_64_BITS = not jax.config.jax_enable_x64
else:
    NO_64_BITS = False
NEEDS_64_BITS = {name for name, d in RECORDED["results"].items() if _uses_64_bits(d)} | {
    "dtype_mismatch"}


# MXNet's default context is cpu(0); keras_defer's is the backend's default device,
# gpu(0) where there is one. The scenarios then run there, and print it.
ON_GPU = current_context().device_type == "gpu"


def _as_on_cpu(description):
    text = json.dumps(description).replace("@gpu(0)>", "@cpu(0)>")
    return json.loads(text.replace("'gpu(0)'", "'cpu(0)'"))


@pytest.mark.parametrize("name", sorted(ndarray_scenarios.SCENARIOS))
def test_scenario_matches_mxnet(name):
    if NO_64_BITS and name in NEEDS_64_BITS:
        pytest.skip("JAX without jax_enable_x64 has no 64-bit dtypes")
    mode, fn = ndarray_scenarios.SCENARIOS[name]
    got = ndarray_scenarios.run(FW, fn)
    if ON_GPU:
        got = _as_on_cpu(got)
        mode = "gpu" if mode == "exact" else mode
    compare(mode, got, RECORDED["results"][name], name)


def test_every_scenario_was_recorded():
    assert sorted(RECORDED["results"]) == sorted(ndarray_scenarios.SCENARIOS)


def test_reshape_codes_match_mxnet_table():
    got = ndarray_scenarios.reshape_table(FW)
    cases = ndarray_scenarios.reshape_cases()
    mismatches = [(case, g, w) for case, g, w in zip(cases, got, RECORDED["reshape_table"])
                  if g != w]
    assert not mismatches, mismatches[:5]


# -------------------------------------------------------------- hypothesis: math


def _array(values):
    return nd.array(values.astype(np.float32))


small_ints = st.integers(-5, 5)
BINARY = {
    "+": (lambda a, b: a + b, np.add),
    "-": (lambda a, b: a - b, np.subtract),
    "*": (lambda a, b: a * b, np.multiply),
    "/": (lambda a, b: a / b, np.divide),
    "maximum": (nd.maximum, np.maximum),
    "minimum": (nd.minimum, np.minimum),
    "==": (lambda a, b: a == b, lambda a, b: (a == b).astype(np.float32)),
    ">": (lambda a, b: a > b, lambda a, b: (a > b).astype(np.float32)),
    "<=": (lambda a, b: a <= b, lambda a, b: (a <= b).astype(np.float32)),
}


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3),
       op=st.sampled_from(sorted(BINARY)), data=st.data())
def test_broadcasting_arithmetic_matches_numpy(shapes, op, data):
    a = data.draw(hnp.arrays(np.float32, shapes.input_shapes[0], elements=small_ints))
    b = data.draw(hnp.arrays(np.float32, shapes.input_shapes[1], elements=small_ints))
    if op == "/":
        b[b == 0] = 1
    ours, reference = BINARY[op]
    got = ours(_array(a), _array(b))
    want = reference(a, b).astype(np.float32)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-6)


@SETTINGS
@given(values=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=3),
                         elements=small_ints),
       scalar=st.integers(-3, 3), op=st.sampled_from(["+", "-", "*", "r-", "r*", "=="]))
def test_scalar_arithmetic_keeps_dtype(values, scalar, op):
    x = _array(values)
    result = {"+": lambda: x + scalar, "-": lambda: x - scalar, "*": lambda: x * scalar,
              "r-": lambda: scalar - x, "r*": lambda: scalar * x, "==": lambda: x == scalar}[op]()
    want = {"+": values + scalar, "-": values - scalar, "*": values * scalar,
            "r-": scalar - values, "r*": scalar * values, "==": values == scalar}[op]
    assert result.dtype == np.float32 and result.shape == values.shape
    np.testing.assert_array_equal(result.asnumpy(), want.astype(np.float32))


REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod}


@SETTINGS
@given(values=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=4, max_side=3),
                         elements=st.integers(-3, 3)),
       name=st.sampled_from(sorted(REDUCTIONS)), keepdims=st.booleans(),
       exclude=st.booleans(), data=st.data())
def test_reductions_match_numpy_with_mxnet_shapes(values, name, keepdims, exclude, data):
    ndim = values.ndim
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                               st.lists(st.integers(0, ndim - 1), min_size=1, unique=True)
                               .map(tuple)))
    got = getattr(_array(values), name)(axis=axis, keepdims=keepdims, exclude=exclude)
    if axis is None:
        axes = None
    else:
        axes = tuple(sorted({a % ndim for a in ((axis,) if isinstance(axis, int) else axis)}))
        if exclude:
            axes = tuple(a for a in range(ndim) if a not in axes)
    if axes == ():
        want = values
    else:
        want = np.asarray(REDUCTIONS[name](values, axis=axes, keepdims=keepdims))
        if want.ndim == 0:
            want = want.reshape(1)  # MXNet 1.x: a full reduction has shape (1,)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------- hypothesis: reshape codes


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
       codes=st.lists(st.sampled_from([0, -1, -2, -3, 1, 2, 3, 4]), min_size=1, max_size=4),
       reverse=st.booleans())
def test_reshape_view_keeps_values_and_writes_through(shape, codes, reverse):
    x = nd.arange(int(np.prod(shape))).reshape(shape)
    try:
        target = infer_reshape(shape, codes, reverse)
    except MXNetError:
        with pytest.raises(MXNetError):
            x.reshape(codes, reverse=reverse)
        return
    if int(np.prod(target)) != int(np.prod(shape)):
        with pytest.raises((MXNetError, ValueError)):
            x.reshape(codes, reverse=reverse)
        return
    y = x.reshape(codes, reverse=reverse)
    assert y.shape == target
    np.testing.assert_array_equal(y.asnumpy(), np.arange(np.prod(shape)).reshape(target))
    y[:] = -1
    assert (x.asnumpy() == -1).all() and x.shape == tuple(shape)


# ----------------------------------------------------------- hypothesis: indexing


def _basic_key(shape):
    def entry(n):
        return st.one_of(st.integers(-n, n - 1),
                         st.builds(slice, st.none() | st.integers(-n - 1, n + 1),
                                   st.none() | st.integers(-n - 1, n + 1),
                                   st.none() | st.sampled_from([1, 2, -1, -2])))

    return st.tuples(*[entry(n) for n in shape]).flatmap(
        lambda full: st.integers(1, len(full)).map(lambda k: full[:k]))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_basic_indexing_matches_numpy(shape, data):
    key = data.draw(_basic_key(shape))
    values = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    got = nd.array(values)[key if len(key) > 1 else key[0]]
    want = values[key]
    want = want.reshape(1) if want.ndim == 0 else want  # MXNet 1.x never gives 0-d
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.asnumpy(), want)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_basic_assignment_matches_numpy(shape, data):
    key = data.draw(_basic_key(shape))
    values = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    target_shape = values[key].shape
    update = data.draw(st.one_of(
        st.integers(-9, -1),
        hnp.arrays(np.float32, target_shape, elements=st.integers(-9, -1))))
    x = nd.array(values)
    before = id(x)
    x[key] = update
    values[key] = update
    assert id(x) == before
    np.testing.assert_array_equal(x.asnumpy(), values)


@SETTINGS
@given(rows=st.lists(st.integers(-3, 2), min_size=1, max_size=5))
def test_advanced_indexing_matches_numpy(rows):
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    for key in (rows, nd.array(rows), np.array(rows)):
        np.testing.assert_array_equal(nd.array(values)[key].asnumpy(), values[np.array(rows)])
    x = nd.array(values)
    x[rows] = -1
    values[np.array(rows)] = -1
    np.testing.assert_array_equal(x.asnumpy(), values)


# ------------------------------------------------------------------------ hooks


def test_views_chain_and_write_through():
    x = nd.arange(24).reshape((2, 3, 4))
    row = x[1]
    cell = row[2]
    cell[:] = -5
    assert x.asnumpy()[1, 2].tolist() == [-5.0] * 4
    x[:] = 0
    assert (row.asnumpy() == 0).all()
    row += 1
    assert x.asnumpy()[1].sum() == 12 and x.asnumpy()[0].sum() == 0


def _values_of(variable):
    return _backend.to_numpy(_backend.read_variable(variable))


def test_variable_ndarray_reads_and_writes_the_variable():
    variable = keras.Variable(np.zeros((2, 3), dtype=np.float32))
    w = nd.VariableNDArray(variable)
    before = id(w)
    w[:] = 1
    w[0, 1] = 5
    w += nd.ones((2, 3))
    w[1] *= 3
    assert id(w) == before
    want = np.array([[2, 6, 2], [6, 6, 6]], dtype=np.float32)
    np.testing.assert_array_equal(_values_of(variable), want)
    variable.assign(np.full((2, 3), 7, dtype=np.float32))
    assert (w.asnumpy() == 7).all()
    snapshot = w.copy()
    variable.assign(np.zeros((2, 3), dtype=np.float32))
    assert (snapshot.asnumpy() == 7).all()
    flat = w.reshape((-1,))
    flat[:] = nd.arange(6)
    np.testing.assert_array_equal(_values_of(variable),
                                  np.arange(6, dtype=np.float32).reshape(2, 3))
    with pytest.raises(MXNetError):
        w += nd.ones((3, 3))
    with pytest.raises(ValueError):
        w[:] = nd.ones((3, 3))
    assert isinstance(w + 1, nd.NDArray) and not isinstance(w + 1, nd.VariableNDArray)
    assert "<NDArray 2x3 @%s>" % current_context() in repr(w)


def test_every_op_goes_through_the_apply_hook():
    seen = []

    def hook(fn, inputs, params):
        seen.append(fn)
        result = fn(*[ndarray_module.unwrap(x) for x in inputs], **params)
        if isinstance(result, (list, tuple)):
            return type(result)(ndarray_module.wrap(r) for r in result)
        return ndarray_module.wrap(result)

    x = nd.array([[1, 2], [3, 4]])
    previous = ndarray_module.set_apply_hook(hook)
    try:
        y = nd.relu(x * 2 + 1).sum(axis=1)
        parts = nd.split(nd.dot(x, x.T), num_outputs=2, axis=0)
        z = nd.concat(*parts, dim=1)
    finally:
        ndarray_module.set_apply_hook(previous)
    assert len(seen) == 8  # *, +, relu, sum, T, dot, split, concat
    np.testing.assert_array_equal(y.asnumpy(), [8.0, 16.0])
    assert z.shape == (1, 4)


def test_inputs_of_every_kind():
    x = nd.array([1, 2, 3])
    tensor = keras.ops.convert_to_tensor(np.array([1, 1, 1], dtype=np.float32))
    for other in (tensor, np.array([1, 1, 1], dtype=np.float32), [1, 1, 1], 1):
        np.testing.assert_array_equal(nd.add(x, other).asnumpy(), [2, 3, 4])
    np.testing.assert_array_equal((np.ones(3, dtype=np.float32) + x).asnumpy(), [2, 3, 4])
    np.testing.assert_allclose(nd.exp(tensor).asnumpy(), np.exp(np.ones(3, np.float32)), rtol=1e-6)
    np.testing.assert_array_equal(nd.dot(np.ones((2, 3)), x).asnumpy(), [6, 6])
    assert np.asarray(x).tolist() == [1, 2, 3]


def test_pickle_and_deepcopy_copy_values():
    import copy
    import pickle

    x = nd.array([[1, 2], [3, 4]], dtype="int32")
    for clone in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert clone.dtype == np.int32 and clone.asnumpy().tolist() == [[1, 2], [3, 4]]


def test_every_nd_call_of_the_d2l_chapters_exists():
    import re

    root = os.path.join(HERE, "..", "..", "shared", "d2l")
    if not os.path.isdir(root):
        pytest.skip("the d2l chapters are not checked out next to the repository")
    names = set()
    for folder, _, files in os.walk(root):
        for f in files:
            if f.endswith(".md"):
                with open(os.path.join(folder, f), encoding="utf-8") as handle:
                    names.update(re.findall(r"\bnd\.([a-z_][a-z_.]*)", handle.read()))
    missing = []
    for name in sorted(names - {"save", "load"}):  # nd.save/nd.load: another issue
        obj = nd
        for part in name.rstrip(".").split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            missing.append(name)
    assert not missing
