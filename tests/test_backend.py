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
