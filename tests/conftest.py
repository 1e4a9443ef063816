"""Shared test set-up: quiet TensorFlow, one process for every test (TF import is slow)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytest  # noqa: E402

if os.environ["KERAS_BACKEND"] == "torch":
    # On PyTorch an output that requires grad refuses ``np.asarray`` (native Keras
    # layers' outputs too). The tests read values with ``np.asarray`` and
    # ``np.testing``, as they do on TensorFlow and JAX; let that conversion detach
    # when a test asks for it. Called from anywhere else (keras_defer, Keras), the
    # conversion still refuses, so library code that would silently cut the gradient
    # (a tensor times a numpy array) fails here as it would for a user.
    import torch  # noqa: E402

    _tensor_array = torch.Tensor.__array__
    _TESTS = os.path.dirname(os.path.abspath(__file__)) + os.sep

    def _asked_by_a_test():
        frame = sys._getframe(2)
        while frame is not None and (os.sep + "numpy" + os.sep in frame.f_code.co_filename
                                     or os.sep + "torch" + os.sep in frame.f_code.co_filename):
            frame = frame.f_back
        return frame is not None and frame.f_code.co_filename.startswith(_TESTS)

    def _detached_array(self, *args, **kwargs):
        if self.requires_grad and _asked_by_a_test():
            return _tensor_array(self.detach(), *args, **kwargs)
        return _tensor_array(self, *args, **kwargs)

    torch.Tensor.__array__ = _detached_array


@pytest.fixture
def fresh_names():
    """Restart Gluon's per-class counters so names read dense0, dense1, ..."""
    from keras_defer import naming

    naming.reset_counters()
    yield
