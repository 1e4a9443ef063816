"""The Keras variable behind a parameter: made whenever its shape becomes known,
tracked by every block that holds the parameter.

Keras creates a layer's variables in ``build()`` and locks the layer afterwards.
Gluon creates a parameter's variable at ``initialize()`` (shape known from
``in_units``), at the first pass, or on ``load_parameters``, possibly after the layer
is built, and a shared parameter belongs to several layers: so each owner is
briefly unlocked to track it (``keras_compat``). The variable's path is the same
whenever it is made, and it never aliases the value it was made from
(``backend.snapshot``).
"""

import keras

from keras_defer import backend, keras_compat


def create_variable(owners, param_name, value, shape, dtype, trainable, device=None):
    """A Keras variable for parameter ``param_name``, tracked by each layer in
    ``owners``. Its path is ``<first owner>/<name within it>``, the same whether it is
    created eagerly (``in_units``) or late (first pass)."""
    owner = owners[0] if owners else None
    local = param_name
    if owner is not None and param_name.startswith(owner.prefix):
        local = param_name[len(owner.prefix):] or param_name
    scope = keras_compat.path_scope(owner.name) if owner is not None else None
    device_scope = keras.device(device) if device else None
    try:
        if device_scope is not None:
            device_scope.__enter__()
        if scope is not None:
            scope.__enter__()
        variable = keras.Variable(
            initializer=backend.snapshot(value, dtype),
            shape=tuple(shape), dtype=dtype, trainable=trainable, name=local,
        )
    finally:
        if scope is not None:
            scope.__exit__(None, None, None)
        if device_scope is not None:
            device_scope.__exit__(None, None, None)
    keras_compat.track_new_variable(owners, variable)
    return variable  # the caller orders the owners' variables (``sort_tracked``)


def clone_variable(variable):
    """A new, untracked variable with ``variable``'s value, name and path."""
    parent = variable.path.rsplit("/", 1)[0] if "/" in variable.path else None
    scope = keras.name_scope(parent, override_parent="") if parent else None
    if scope is not None:
        scope.__enter__()
    try:
        return keras.Variable(
            initializer=backend.snapshot(variable), shape=variable.shape,
            dtype=variable.dtype, trainable=variable.trainable, name=variable.name,
        )
    finally:
        if scope is not None:
            scope.__exit__(None, None, None)
