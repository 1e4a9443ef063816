"""``copy.deepcopy`` of a block: an independent net with the same names, shapes,
values and pending initializations.

Keras models copy themselves through ``.keras`` serialization, which would lose
Gluon's state (pending initializers, prefixes, shared parameters); so a block is
copied attribute by attribute, every parameter getting a fresh variable (one per
shared parameter) and every block fresh Keras ``build`` wrappers. A hybridized
block's compiled function is made again for the copy: a trace holds the original's
variables.
"""

import copy
import weakref

import keras

from keras_defer import keras_compat, naming, variables

__all__ = ["copy_block"]


def copy_block(block, memo):
    """``block.__deepcopy__(memo)``."""
    for param in block.collect_params().values():
        if param.variable is not None and id(param.variable) not in memo:
            memo[id(param.variable)] = variables.clone_variable(param.variable)
    for value in list(block.__dict__.values()):
        if isinstance(value, keras.random.SeedGenerator) and id(value) not in memo:
            # a SeedGenerator holds the backend module, which cannot be copied
            twin = keras.random.SeedGenerator(seed=0)
            twin.state.assign(value.state.value)
            memo[id(value)], memo[id(value.state)] = twin, twin.state
    cls = type(block)
    new = cls.__new__(cls)  # Keras wraps build/quantize for the new object here
    memo[id(block)] = new
    fresh = keras_compat.instance_wrappers(new)
    for key, value in block.__dict__.items():
        if key in fresh:
            continue
        if key == "_compiled_call":
            value = None
        elif key == "_parents":  # the copies of the parents copied along with it
            value = [weakref.ref(memo[id(ref())]) for ref in value
                     if ref() is not None and id(ref()) in memo]
        elif key == "_scope":
            value = naming.NameScope(new)
        else:
            value = copy.deepcopy(value, memo)
        object.__setattr__(new, key, value)
    if new._compiled_call is None and block._compiled_call is not None:
        new.hybridize()
    return new
