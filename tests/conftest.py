"""Shared test set-up: quiet TensorFlow, one process for every test (TF import is slow)."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytest  # noqa: E402


@pytest.fixture
def fresh_names():
    """Restart Gluon's per-class counters so names read dense0, dense1, ..."""
    from keras_defer import naming

    naming.reset_counters()
    yield
