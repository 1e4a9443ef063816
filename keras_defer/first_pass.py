"""The first forward pass as one transaction.

Gluon infers shapes and runs the pending initializers during the first forward pass.
We do the same, but as a unit: if anything fails part-way (an input that contradicts
``in_units`` in the fifth layer, an initializer that raises), every parameter and
every block is put back as it was, so a retry with the right input initializes
exactly as if the failed attempt never happened. One lock makes concurrent first
passes of the same net initialize each parameter exactly once.

Writers (first passes, ``initialize``, ``set_data``, ``load_parameters``) hold that
lock and keep a sequence number odd while they change parameter values. Forward
passes of built nets take no lock: they read the number before and after (a
seqlock) and, if a writer ran meanwhile, compute again holding the lock, so an
output never mixes old and new weights.
"""

import threading

from keras_defer import keras_compat

_local = threading.local()
_lock = threading.RLock()
_seq = [0]  # odd while a writer changes parameter values


class _Transaction:
    def __init__(self, block):
        self.block = block
        self.params = list(block.collect_params().values())
        self.param_states = [p._state() for p in self.params]
        self.blocks = [b for b in block._iter_blocks()]
        self.built = [b.built for b in self.blocks]
        self.locked = [keras_compat.state_locked(b) for b in self.blocks]

    def rollback(self):
        for param, state in zip(self.params, self.param_states):
            param._restore(state)
        for blk, was_built, was_locked in zip(self.blocks, self.built, self.locked):
            if not was_built and blk.built:
                blk.built = False
            # Keras locks a layer's state when its build() ends: a block rolled back to
            # unbuilt must accept new state again (a retry, a deepcopy)
            keras_compat.set_state_locked(blk, was_locked)


class transaction:
    """``with transaction(block):`` — the outermost first pass opens it, nested first
    passes (children built lazily inside a custom ``forward``) join it."""

    def __init__(self, block):
        self.block = block
        self.owner = False

    def __enter__(self):
        if getattr(_local, "active", None) is not None:
            return _local.active
        _writer.__enter__()
        self.owner = True
        try:
            _local.active = _Transaction(self.block)
        except BaseException:
            _writer.__exit__(None, None, None)
            raise
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
            _writer.__exit__(None, None, None)
        return False


def active():
    """Whether this thread is inside a first pass (``transaction``): every block of it
    is built and initialized once its ``_prepare_first_pass`` is done."""
    return getattr(_local, "active", None) is not None


class _Writer:
    """``with first_pass.lock():`` — exclusive, re-entrant; marks values as changing."""

    def __enter__(self):
        _lock.acquire()
        depth = getattr(_local, "write_depth", 0)
        _local.write_depth = depth + 1
        if depth == 0:
            _seq[0] += 1
        return self

    def __exit__(self, *exc):
        depth = _local.write_depth - 1
        _local.write_depth = depth
        if depth == 0:
            _seq[0] += 1
        _lock.release()
        return False


_writer = _Writer()


def lock():
    """The lock under which parameters change (first passes, re-initialization,
    loading): exclusive and re-entrant; forward passes that overlap it recompute.
    Refused inside a distribution strategy's replica function (``REPLICA_WRITE``)."""
    from keras_defer import backend

    if backend.in_replica_context() and not getattr(_local, "write_depth", 0):
        from keras_defer.errors import MXNetError

        raise MXNetError(REPLICA_WRITE)
    return _writer


REPLICA_WRITE = (
    "Parameter values cannot be changed inside a replica function (strategy.run, a "
    "replica's step of fit): each replica would write its own copy, and the replicas "
    "would silently disagree. Call set_data, load_parameters, cast, reset_ctx or "
    "share_parameters outside strategy.run (at top level or in strategy.scope()), "
    "where the strategy writes the same value to every replica. (initialize() may be "
    "called in a replica function: it runs once for all replicas.)")


def exclusive():
    """The same lock, for readers that must not overlap any writer (no value changes)."""
    return _lock


def read_begin():
    """Before a forward pass: a token for ``read_valid``, or None when this thread is
    itself changing parameters (its own reads are consistent by construction)."""
    seq = _seq[0]
    while seq & 1:
        if getattr(_local, "write_depth", 0):
            return None
        with _lock:  # wait for the writer
            pass
        seq = _seq[0]
    return seq


def read_valid(token):
    """True when no writer ran since ``read_begin`` returned ``token``."""
    return _seq[0] == token
