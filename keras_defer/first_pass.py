"""The first forward pass as one transaction.

Gluon infers shapes and runs the pending initializers during the first forward pass.
We do the same, but as a unit: if anything fails part-way (an input that contradicts
``in_units`` in the fifth layer, an initializer that raises), every parameter and
every block is put back as it was, so a retry with the right input initializes
exactly as if the failed attempt never happened. One lock makes concurrent first
passes of the same net initialize each parameter exactly once.
"""

import threading

_local = threading.local()
_lock = threading.RLock()


class _Transaction:
    def __init__(self, block):
        self.block = block
        self.params = list(block.collect_params().values())
        self.param_states = [p._state() for p in self.params]
        self.blocks = [b for b in block._iter_blocks()]
        self.built = [b.built for b in self.blocks]

    def rollback(self):
        for param, state in zip(self.params, self.param_states):
            param._restore(state)
        for blk, was_built in zip(self.blocks, self.built):
            if not was_built and blk.built:
                blk.built = False


class transaction:
    """``with transaction(block):`` — the outermost first pass opens it, nested first
    passes (children built lazily inside a custom ``forward``) join it."""

    def __init__(self, block):
        self.block = block
        self.owner = False

    def __enter__(self):
        if getattr(_local, "active", None) is not None:
            return _local.active
        _lock.acquire()
        self.owner = True
        _local.active = _Transaction(self.block)
        return _local.active

    def __exit__(self, exc_type, exc, tb):
        if not self.owner:
            return False
        txn = _local.active
        _local.active = None
        try:
            if exc_type is not None:
                txn.rollback()
        finally:
            _lock.release()
        return False


def in_first_pass():
    return getattr(_local, "active", None) is not None


def lock():
    """The lock under which parameters change (first passes, re-initialization)."""
    return _lock
