"""conformance: a hypothesis-driven kit that checks an implementation of MXNet Gluon's
parameter semantics (deferred initialization) clause by clause.

Random architectures nest Sequential/HybridSequential containers around Dense layers and,
in some families, a stem of convolutions (1-3D, transposed), pooling, normalization
(BatchNorm, LayerNorm, InstanceNorm), Dropout, Activation, (Hybrid)Lambda and Flatten,
or recurrent layers (RNN, LSTM, GRU) after an optional Embedding.

`python -m conformance --impl keras_defer|mxnet` or `pytest --pyargs conformance`.
The core (clauses, arch, model, strategies, checks, machine, runner) imports no
framework; adapters import theirs lazily.
"""

__all__ = ["arch", "checks", "clauses", "model"]
