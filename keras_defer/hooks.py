"""Gluon's forward hooks: ``block.register_forward_pre_hook(hook)`` and
``register_forward_hook(hook)``, as MXNet 1.9.1.

A pre-hook runs as ``hook(block, inputs)`` before the block computes, a hook as
``hook(block, inputs, output)`` after, ``inputs`` being the tuple of positional
arguments; both get what MXNet gives, NDArrays (backend tensors a built-in container
passes are wrapped for them). Registration returns a ``HookHandle`` whose ``detach()``
(or ``with handle:``) removes the hook. Hooks run in registration order, once per call
of the block, whichever way the call goes (first pass, fast path, compiled call);
they do not run while a block is traced into a hybridized parent's graph or built
symbolically by Keras (MXNet runs a hybridized graph without calling its children).

The call path pays one dict read for a block without hooks: ``Block.__call__`` asks
``block.__dict__.get(STATE)``; a block with hooks goes through ``hooked_call``, which
runs ``run_pre_hooks``, the call itself, then ``run_post_hooks``. A block with hooks
is never part of a fast-path plan (a plan skips its children's calls), and registering
one drops the plans that contain the block.
"""

import threading
import weakref
from collections import OrderedDict

import keras

from keras_defer.backend import in_compiled_call

__all__ = ["HookHandle", "register_pre_hook", "register_hook", "hooked_call",
           "run_pre_hooks", "run_post_hooks", "STATE"]

STATE = "_gluon_forward_hooks"
"""The instance attribute holding a block's ``Hooks`` (absent until one registers;
not torch.nn.Module's ``_forward_hooks``, which PyTorch's own call reads)."""


class Hooks:
    """A block's pre-hooks and hooks. False while this thread is inside the block's
    hooked call, so the call it makes (``Block.__call__`` again) runs plain."""

    __slots__ = ("pre", "post", "_local", "__weakref__")

    def __init__(self):
        self.pre = OrderedDict()
        self.post = OrderedDict()
        self._local = threading.local()

    def __bool__(self):
        return bool(self.pre or self.post) and not getattr(self._local, "depth", 0)

    def __deepcopy__(self, memo):  # a copied block keeps the hooks, as in MXNet
        copy = Hooks()
        copy.pre.update(self.pre)
        copy.post.update(self.post)
        return copy

    def __getstate__(self):
        return {"pre": self.pre, "post": self.post}

    def __setstate__(self, state):
        self.pre, self.post = state["pre"], state["post"]
        self._local = threading.local()


class HookHandle:
    """MXNet's ``gluon.utils.HookHandle``: ``detach()`` removes the hook."""

    def __init__(self):
        self._hooks_dict_ref = None
        self._id = None
        self._block_ref = None  # set by ``_attach``: the block forgets empty hooks

    def attach(self, hooks_dict, hook):
        assert not self._hooks_dict_ref, "The same handle cannot be attached twice."
        self._id = id(hook)
        hooks_dict[self._id] = hook
        self._hooks_dict_ref = weakref.ref(hooks_dict)

    def detach(self):
        hooks_dict = self._hooks_dict_ref()
        if hooks_dict is not None and self._id in hooks_dict:
            del hooks_dict[self._id]
        block = self._block_ref() if self._block_ref is not None else None
        if block is not None:
            state = block.__dict__.get(STATE)
            if state is not None and not (state.pre or state.post):
                # back to the one-dict-read call path
                block.__dict__.pop(STATE, None)

    def __getstate__(self):
        return (self._hooks_dict_ref(), self._id)

    def __setstate__(self, state):
        if state[0] is None:
            self._hooks_dict_ref = weakref.ref(OrderedDict())
        else:
            self._hooks_dict_ref = weakref.ref(state[0])
        self._id = state[1]
        self._block_ref = None

    def __enter__(self):
        return self

    def __exit__(self, ptype, value, trace):
        self.detach()


def _hooks(block):
    state = block.__dict__.get(STATE)
    if state is None:
        state = Hooks()
        object.__setattr__(block, STATE, state)
    return state


def _attach(block, which, hook):
    handle = HookHandle()
    handle.attach(getattr(_hooks(block), which), hook)
    handle._block_ref = weakref.ref(block)
    block._forget_compiled_state()  # fast-path plans holding the block skip its call
    return handle


def register_pre_hook(block, hook):
    """``block.register_forward_pre_hook(hook)``."""
    return _attach(block, "pre", hook)


def register_hook(block, hook):
    """``block.register_forward_hook(hook)``."""
    return _attach(block, "post", hook)


def _observable(args):
    """Whether a call with ``args`` is one hooks see: not traced into a compiled
    parent, not built symbolically by Keras."""
    return not in_compiled_call() and not any(isinstance(a, keras.KerasTensor) for a in args)


def _as_ndarrays(value):
    from keras_defer.nd.ndarray import wrap_all  # nd imports blocks' modules late

    return wrap_all(value)


def run_pre_hooks(block, args):
    """Run ``block``'s pre-hooks for a call with ``args``."""
    state = block.__dict__.get(STATE)
    if state is None or not state.pre or not _observable(args):
        return
    inputs = _as_ndarrays(tuple(args))
    for hook in list(state.pre.values()):
        hook(block, inputs)


def run_post_hooks(block, args, output):
    """Run ``block``'s hooks after a call with ``args`` returned ``output``."""
    state = block.__dict__.get(STATE)
    if state is None or not state.post or not _observable(args):
        return
    inputs, output = _as_ndarrays(tuple(args)), _as_ndarrays(output)
    for hook in list(state.post.values()):
        hook(block, inputs, output)


def hooked_call(block, args, kwargs):
    """``block(*args, **kwargs)`` between its pre-hooks and hooks (``Block.__call__``
    comes here while the block has hooks)."""
    run_pre_hooks(block, args)
    local = block.__dict__[STATE]._local
    local.depth = getattr(local, "depth", 0) + 1
    try:
        out = block.__call__(*args, **kwargs)  # plain: the hooks are falsy meanwhile
    finally:
        local.depth -= 1
    run_post_hooks(block, args, out)
    return out
