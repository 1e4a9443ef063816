"""The benchmark ratio table: keras_defer against native Keras 3, hand-written
TensorFlow ops and MXNet Gluon 1.9.1, measured side by side in one process.

Run ``python -m benchmarks`` (``--quick`` for a smoke run, ``--json`` for machines).
"""
