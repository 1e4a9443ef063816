"""The backend front: one set of names, the same from every backend module."""

from keras_defer import backend
from keras_defer.backend import common


def test_the_active_module_and_the_generic_one_export_every_name():
    names = set(backend.__all__) - {"NAME", "MISS", "in_compiled_call"}
    assert not names - set(dir(backend._active))
    assert not names - set(dir(common))  # any other Keras backend runs on these


def test_generic_fallbacks_compute_what_the_backends_compute():
    import numpy as np

    x, weight = np.ones((2, 3), "float32"), np.arange(12, dtype="float32").reshape(4, 3)
    np.testing.assert_allclose(common.matmul_transposed(x, weight), x @ weight.T)
    pieces = common.split_into(np.arange(10, dtype="float32"), [(2, 3), (4,)])
    assert [tuple(p.shape) for p in pieces] == [(2, 3), (4,)]
    assert common.fast_call(None, ()) is backend.MISS
    assert common.compile_call(None) is None
    assert common.device_name("gpu", 1) == "gpu:1"


def test_generic_tensor_primitives_agree_with_the_active_backend():
    import keras
    import numpy as np

    a = keras.ops.convert_to_tensor(np.array([7, -7, 7, -7], "int32"))
    b = keras.ops.convert_to_tensor(np.array([2, 2, -2, -2], "int32"))
    for module in (common, backend):
        assert np.asarray(module.trunc_div(a, b)).tolist() == [3, -3, -3, 3]  # C's, not floor
        t = keras.ops.convert_to_tensor(np.arange(12, dtype="float32").reshape(3, 4))
        np.testing.assert_array_equal(
            module.to_numpy(module.strided_slice(t, (slice(None, None, -1), slice(3, 0, -2)))),
            np.arange(12, dtype="float32").reshape(3, 4)[::-1, 3:0:-2])
        assert module.tensor_dtype(t) == "float32" and not module.is_integer(t)
        assert module.is_integer(a) and module.is_tensor(t) and not module.is_tensor(np.ones(2))
        assert tuple(module.to_vector(module.reshape(t, (12,))[0]).shape) == (1,)
        np.testing.assert_allclose(module.to_numpy(module.lgamma(t[0:1] + 1)),
                                   [[0.0, 0.0, 0.6931472, 1.7917595]], rtol=1e-6, atol=1e-6)
        assert module.device_string(t).lower().endswith(("cpu:0", "gpu:0", "cuda:0"))
