"""Parameter sharing between blocks: ``Block.share_parameters`` (Gluon 2.0's API on
Gluon 1.9.1's semantics: one ``Parameter``, one Keras variable, wherever it is held).

A plan-then-apply transaction like the first pass (``first_pass``) and loading
(``serialization``): ``_plan`` checks every name, dtype and shape and computes every
value an initializer must produce, changing nothing; ``_apply`` then swaps the
parameters in, which cannot fail half-way for a reason the plan could have seen.
"""

from collections import OrderedDict

import numpy as np

from keras_defer import first_pass
from keras_defer.errors import ShapeMismatchError
from keras_defer.parameter import Parameter, ParameterDict
from keras_defer.shapes import merge_shapes, shape_is_known

__all__ = ["share_parameters"]


def share_parameters(block, shared):
    """Make ``block`` (and its children) use the Parameters in ``shared``.

    ``shared`` maps names to Parameters (a dict, a ``ParameterDict``, or a Block,
    meaning its ``_collect_params_with_prefix()``). A name is, in this order of
    precedence:

    * a structural name of ``block`` (``'weight'``, ``'0.weight'``): that position;
    * the full Gluon name of a parameter of ``block`` (``'dense1_weight'``): every
      position holding it;
    * for a ``ParameterDict``, a name whose dict prefix, removed, is a structural
      name: so ``dense1.share_parameters(dense0.collect_params())`` works.

    Afterwards each matched position holds the given Parameter itself (one Keras
    variable, keeping its name); the one it replaces is left to its other users.
    Deferred shapes merge: whichever block runs its first pass first initializes the
    shared Parameter, once. Sharing into a block whose first pass is done finishes
    the shared Parameter's pending initialization now, with the known shape.
    All-or-nothing: an unknown name (``KeyError``), a value that is not a Parameter
    (``TypeError``), a dtype (``ValueError``) or shape (``ShapeMismatchError``) that
    does not fit, or an initializer that raises, leaves everything as it was.

    Keras state built on the old variables (a compiled model's optimizer and train
    function) does not follow: share before ``compile()``, or compile again.
    """
    if shared is None:
        return
    if hasattr(shared, "_collect_params_with_prefix") and not isinstance(
            shared, (dict, ParameterDict)):  # a Block
        shared = shared._collect_params_with_prefix()
    if not isinstance(shared, (dict, ParameterDict)):
        raise TypeError(
            "%s.share_parameters: shared must be a dict or ParameterDict of "
            "Parameters (e.g. other._collect_params_with_prefix()) or a Block, got %r"
            % (block.name, type(shared).__name__))
    with first_pass.lock():
        _apply(*_plan(block, shared))


def _positions(block):
    """``(structural, by_name)``: structural name -> (block, attr), and Gluon full
    name -> every (block, attr) holding that parameter."""
    structural, by_name = {}, OrderedDict()
    stack = [(block, "")]
    while stack:
        current, prefix = stack.pop()
        for attr, param in current._reg_params.items():
            if param is not None:
                structural[prefix + attr] = (current, attr)
                by_name.setdefault(param.name, []).append((current, attr))
        stack.extend(reversed([(child, prefix + key + ".")
                               for key, child in current._children.items()]))
    return structural, by_name


def _targets(block, shared):
    """``{(id(block), attr): (block, attr, old, new)}`` for every name in ``shared``."""
    structural, by_name = _positions(block)
    strip = shared.prefix if isinstance(shared, ParameterDict) else ""
    targets, unknown = OrderedDict(), []
    for key, new in shared.items():
        if not isinstance(new, Parameter):
            raise TypeError("%s.share_parameters: shared['%s'] must be a Parameter, "
                            "got %r" % (block.name, key, new))
        if key in structural:
            spots = [structural[key]]
        elif key in by_name:
            spots = by_name[key]
        elif strip and key.startswith(strip) and key[len(strip):] in structural:
            spots = [structural[key[len(strip):]]]
        else:
            unknown.append(key)
            continue
        for holder, attr in spots:
            spot = (id(holder), attr)
            if spot in targets and targets[spot][3] is not new:
                raise ValueError(
                    "%s.share_parameters: '%s' of block '%s' is matched by two names "
                    "with different Parameters ('%s' and '%s')"
                    % (block.name, attr, holder.name, targets[spot][3].name, new.name))
            targets[spot] = (holder, attr, holder._reg_params[attr], new)
    if unknown:
        raise KeyError(
            "%s.share_parameters: no parameter of this block is named %s. Names are "
            "structural (%s) or Gluon names (%s); to share between two nets give "
            "other._collect_params_with_prefix() or the other block itself. Nothing "
            "was shared." % (block.name, ", ".join(repr(k) for k in unknown),
                             ", ".join(repr(k) for k in list(structural)[:6]),
                             ", ".join(repr(k) for k in list(by_name)[:6])))
    return targets


def _plan(block, shared):
    """Check everything and compute every value; change nothing. Returns
    ``(swaps, shapes, values)`` for ``_apply``."""
    swaps = [t for t in _targets(block, shared).values() if t[2] is not t[3]]
    shapes = OrderedDict()  # id(new) -> [new, merged shape, needs a value now]
    for holder, attr, old, new in swaps:
        if np.dtype(old.dtype) != np.dtype(new.dtype):
            raise ValueError(
                "%s.share_parameters: cannot share Parameter '%s' (dtype %s) as '%s' "
                "of block '%s' (Parameter '%s', dtype %s). Nothing was shared."
                % (block.name, new.name, np.dtype(new.dtype).name, attr, holder.name,
                   old.name, np.dtype(old.dtype).name))
        entry = shapes.setdefault(id(new), [new, new.shape, False])
        merged = (old.shape if entry[1] is None else entry[1] if old.shape is None
                  else merge_shapes(entry[1], old.shape))
        if merged is None:
            raise ShapeMismatchError(
                "%s.share_parameters: cannot share Parameter '%s' of shape %s as '%s' "
                "of block '%s', which holds Parameter '%s' of shape %s: the shapes "
                "are incompatible (0 = not known yet). Nothing was shared."
                % (block.name, new.name, entry[1], attr, holder.name, old.name, old.shape))
        entry[1] = merged
        entry[2] = entry[2] or old.variable is not None or holder.built
    values = [(new, new._initial_value(merged)) for new, merged, needed in shapes.values()
              if needed and new.variable is None and new.pending is not None
              and shape_is_known(merged)]
    return swaps, [(new, merged) for new, merged, _ in shapes.values()], values


def _apply(swaps, shapes, values):
    for new, merged in shapes:
        if new.variable is None:
            new._fix_shape(merged)
    for new, value in values:
        new._materialize(value, new.pending.ctx)
    touched = OrderedDict()
    for holder, attr, old, new in swaps:
        touched.setdefault(id(holder), (holder, []))[1].append((attr, old, new))
    for holder, replacements in touched.values():
        holder._replace_parameters(replacements)
