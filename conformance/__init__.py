"""conformance: a hypothesis-driven kit that checks an implementation of MXNet Gluon's
parameter semantics (deferred initialization) clause by clause.

`python -m conformance --impl keras_defer|mxnet` or `pytest --pyargs conformance`.
The core (clauses, model, strategies, machine) imports no framework; adapters import
theirs lazily.
"""

__all__ = ["clauses", "model", "arch"]
