"""Inputs of the ``gluon.utils`` cases, shared by record_metric_utils_layers.py (under
MXNet 1.9.1) and tests/test_gluon_utils.py (under keras_defer). Pure numpy."""

import hashlib

import numpy as np


def _grid(*shape):
    return np.arange(int(np.prod(shape)), dtype="float32").reshape(shape)


# name: (data, num_slice, batch_axis, even_split) for split_data
SPLITS = {
    "uneven_axis0": (_grid(7, 3), 3, 0, False),
    "even_axis1": (_grid(4, 6), 3, 1, True),
    "uneven_axis1": (_grid(2, 6, 2), 4, 1, False),
    "one_slice": (_grid(7, 3), 1, 0, True),
    "more_slices_than_rows": (_grid(3, 2), 5, 0, False),
    "uneven_refused": (_grid(7, 3), 2, 0, True),
}

# the file the download cases serve from 127.0.0.1
CONTENT = b"keras_defer download test\n" * 100
DIGEST = hashlib.sha1(CONTENT).hexdigest()
