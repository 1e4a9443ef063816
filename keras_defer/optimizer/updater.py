"""``mxnet.optimizer.Updater``: an optimizer's states per index, and the call a Trainer
makes each step (``updater(indices, grads, weights)``).

States are made on first sight of an index (``create_state_multi_precision``), pickled
by ``get_states`` (NDArrays pickle as numpy arrays) and restored by ``set_states``,
as MXNet 1.9.1 does; aggregated optimizers (``aggregate_num > 0``: SGD, LAMB) get
their weights in groups of one dtype, as MXNet passes them.
"""

import pickle

from keras_defer import backend
from keras_defer.nd.ndarray import NDArray

__all__ = ["Updater", "get_updater"]


class Updater:
    """Updater for kvstore."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        """Updates weight given gradient and index (unrecorded: on PyTorch the step
        would otherwise build a graph on every variable it reads)."""
        with backend.unrecorded():
            self._call(index, grad, weight)

    def _call(self, index, grad, weight):  # noqa: C901  (MXNet's one routine)
        if not isinstance(index, (list, tuple)):
            indices = [index]
            grads = [grad]
            weights = [weight]
        else:
            indices = list(index)
            grads = grad
            weights = weight
        if weights:
            self.optimizer._set_current_context(weights[0].context.device_id)
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                indices[i] = idx.decode()
                idx = indices[i]
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                self.states[idx] = self.sync_state_context(self.states[idx], weights[i].context)
                self.states_synced[idx] = True
        if self.aggregate_updates:
            type_map = {}
            for i, w, g in zip(indices, weights, grads):
                type_map.setdefault(w.dtype, []).append((i, w, g))
            step_size = self.optimizer.aggregate_num
            for group in type_map.values():
                group_indices, group_weights, group_grads = zip(*group)
                for start in range(0, len(group_indices), step_size):
                    stop = start + step_size
                    states = [self.states[i] for i in group_indices[start:stop]]
                    self.optimizer.update_multi_precision(
                        group_indices[start:stop], group_weights[start:stop],
                        group_grads[start:stop], states)
        else:
            for i, w, g in zip(indices, weights, grads):
                self.optimizer.update_multi_precision(i, w, g, self.states[i])

    def sync_state_context(self, state, context):
        """``state`` (an NDArray, or tuples/lists of them) on ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced_state = (self.sync_state_context(i, context) for i in state)
            return tuple(synced_state) if isinstance(state, tuple) else list(synced_state)
        return state

    def set_states(self, states):
        """Sets updater states (bytes from ``get_states``)."""
        states = pickle.loads(states)
        if isinstance(states, tuple) and len(states) == 2:
            self.states, self.optimizer = states
        else:
            self.states = states
        self.states_synced = dict.fromkeys(self.states.keys(), False)

    def get_states(self, dump_optimizer=False):
        """Gets updater states (pickled bytes), with the optimizer if ``dump_optimizer``."""
        return pickle.dumps((self.states, self.optimizer) if dump_optimizer else self.states)


def get_updater(optimizer):
    """Returns the ``Updater`` of ``optimizer`` (MXNet's closure for kvstore)."""
    return Updater(optimizer)
