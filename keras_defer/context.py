"""Gluon's device contexts (``mx.cpu()``, ``mx.gpu(1)``, ``with ctx:``) on Keras devices.

MXNet 1.9.1's ``mxnet.context``: a ``Context`` names a device; ``with ctx:`` makes it
the default context of the thread (``current_context()``), which creation functions
without ``ctx=`` use; ``ctx=`` places data explicitly. A context maps onto the device
string ``keras.device()`` understands (``backend.device_name``), and inside
``with ctx:`` Keras's device scope is entered too, so Keras ops follow.

Asking for a GPU that the backend cannot see raises ``MXNetError``, as MXNet's CPU
build does, naming the device asked for: ``Context.keras_device`` (every placement goes
through it: arrays, copies, parameters' variables) and ``as_context_list``
(``initialize(ctx=...)``, before anything changes) check. The number of GPUs comes from
the backend (``backend.num_gpus``), read once.

Where keras_defer differs: the default context is the device Keras uses by default,
``gpu(0)`` on a machine where the backend sees a GPU (MXNet's is always ``cpu(0)``).
"""

import contextlib
import re
import threading

import keras

from keras_defer import backend
from keras_defer.errors import MXNetError

__all__ = ["Context", "cpu", "gpu", "cpu_pinned", "num_gpus", "current_context",
           "as_context_list", "device_scope"]

_local = threading.local()  # .stack: [(Context, entered keras.device scope or None)]
_gpu_count = None


def _visible_gpus():
    global _gpu_count
    if _gpu_count is None:
        _gpu_count = backend.num_gpus()
    return _gpu_count


class Context:
    """A device: ``device_type`` ('cpu', 'gpu', 'cpu_pinned', 'cpu_shared') and
    ``device_id``; ``with ctx:`` makes it the thread's default context."""

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {"cpu": 1, "gpu": 2, "cpu_pinned": 3, "cpu_shared": 5}

    __slots__ = ("device_typeid", "device_id")

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if device_type not in self.devstr2type:
            raise ValueError("Context device_type must be one of %s, got %r"
                             % (", ".join(repr(t) for t in self.devstr2type), device_type))
        if not isinstance(device_id, int) or device_id < 0:
            raise ValueError("Context device_id must be an int >= 0, got %r" % (device_id,))
        self.device_typeid = self.devstr2type[device_type]
        self.device_id = device_id

    @property
    def device_type(self):
        return self.devtype2str[self.device_typeid]

    @property
    def keras_device(self):
        """The device string ``keras.device()`` understands; ``MXNetError`` for a GPU
        the backend cannot see."""
        if self.device_typeid == 2:
            if self.device_id >= _visible_gpus():
                raise MXNetError(unavailable_message(self))
            return backend.device_name("gpu", self.device_id)
        return backend.device_name("cpu", self.device_id)

    @classmethod
    def from_device_string(cls, device):
        """Parse a backend device name such as '/job:localhost/.../device:GPU:0'."""
        text = str(device).lower()
        kind = "gpu" if ("gpu" in text or "cuda" in text) else "cpu"
        tail = text.rsplit(":", 1)[-1]
        return cls(kind, int(tail) if tail.isdigit() else 0)

    def empty_cache(self):
        """MXNet empties its memory pool for the device; Keras's backends manage their
        own memory, so there is nothing to do."""

    def __eq__(self, other):
        return (isinstance(other, Context) and self.device_typeid == other.device_typeid
                and self.device_id == other.device_id)

    def __hash__(self):
        return hash((self.device_typeid, self.device_id))

    def __str__(self):
        return "%s(%d)" % (self.device_type, self.device_id)

    __repr__ = __str__

    def __enter__(self):
        scope = None
        if self.device_typeid != 2 or self.device_id < _visible_gpus():
            try:
                scope = keras.device(self.keras_device)  # Keras ops follow too
            except ValueError:  # JAX's cpu:1 without forced host devices: the host
                scope = None
            if scope is not None:
                scope.__enter__()
        _stack().append((self, scope))
        return self

    def __exit__(self, *exc):
        _, scope = _stack().pop()
        if scope is not None:
            return scope.__exit__(*exc)
        return False


def _stack():
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def unavailable_message(ctx):
    """MXNet's CPU build says "GPU is not enabled"; this says which device was asked
    for and what the backend sees."""
    count = _visible_gpus()
    seen = ("sees no GPU" if count == 0 else
            "sees %d GPU%s (gpu(0)%s)" % (count, "s" if count > 1 else "",
                                           " to gpu(%d)" % (count - 1) if count > 1 else ""))
    return ("GPU is not enabled: %s was asked for, but Keras's %s backend %s "
            "(mx.context.num_gpus() is %d)" % (ctx, backend.NAME, seen, count))


def cpu(device_id=0):
    return Context("cpu", device_id)


def gpu(device_id=0):
    return Context("gpu", device_id)


def cpu_pinned(device_id=0):
    return Context("cpu_pinned", device_id)


def num_gpus():
    """How many GPUs the active Keras backend can see."""
    return backend.num_gpus()


def current_context():
    """The thread's default context: that of the innermost ``with ctx:``, else the
    device Keras uses by default (``gpu(0)`` where the backend sees a GPU)."""
    stack = getattr(_local, "stack", None)
    if stack:
        return stack[-1][0]
    return Context("gpu", 0) if _visible_gpus() else Context("cpu", 0)


_NO_SCOPE = contextlib.nullcontext()


def device_scope(ctx=None):
    """``with device_scope(ctx):`` creates arrays on ``ctx``; ``None`` means the
    context of an enclosing ``with ctx:`` (else the backend's default device).
    Raises ``MXNetError`` for a GPU the backend cannot see."""
    if ctx is None:
        stack = getattr(_local, "stack", None)
        if not stack:
            return _NO_SCOPE
        ctx = stack[-1][0]
    elif not isinstance(ctx, Context):
        if isinstance(ctx, (list, tuple)):  # arrays live on one device
            raise TypeError("ctx must be one Context here (mx.cpu(), mx.gpu(0), ...), got "
                            "the %s %r: write ctx=%r" % (type(ctx).__name__, ctx,
                                                         _first_hint(ctx)))
        ctx = _checked(ctx)
    return keras.device(ctx.keras_device)


def _first_hint(ctxs):
    """How to write the first of ``ctxs`` as one Context (for an error's fix)."""
    first = ctxs[0] if ctxs else None
    if isinstance(first, Context):
        return _Hint("mx.%s(%d)" % (first.device_type, first.device_id))
    if isinstance(first, str):
        match = _CONTEXT_TEXT.match(first.lower())
        if match:
            return _Hint("mx.%s(%s)" % (match.group(1),
                                        match.group(2) or match.group(3) or "0"))
    return _Hint("mx.cpu()")


class _Hint(str):
    def __repr__(self):
        return str(self)


_CONTEXT_TEXT = re.compile(r"^\s*(cpu|gpu|cpu_pinned)\s*(?:\(\s*(\d+)\s*\)|:(\d+))?\s*$")


def _checked(ctx):
    """``ctx`` if it is a Context; a TypeError saying how to write one otherwise."""
    if isinstance(ctx, Context):
        return ctx
    if isinstance(ctx, str):
        match = _CONTEXT_TEXT.match(ctx.lower())
        if match:
            kind, index = match.group(1), match.group(2) or match.group(3) or "0"
            hint = "mx.%s(%s)" % (kind, index if kind == "gpu" or index != "0" else "")
        else:
            hint = "mx.cpu() or mx.gpu(0)"
        raise TypeError("ctx must be a Context or a list of Contexts, got the string %r: "
                        "write ctx=%s" % (ctx, hint))
    raise TypeError("ctx must be a Context (mx.cpu(), mx.gpu(0), ...) or a list of "
                    "Contexts, got %r" % (ctx,))


def as_context_list(ctx):
    """Gluon's ``ctx`` argument (None, a Context, or a list or tuple of them) as a
    list, each device checked: ``MXNetError`` for a GPU the backend cannot see."""
    if ctx is None:
        ctx = [current_context()]
    elif isinstance(ctx, (list, tuple)):
        ctx = [_checked(c) for c in ctx]
    else:
        ctx = [_checked(ctx)]
    for c in ctx:
        c.keras_device  # noqa: B018 - raises for a GPU that is not there
    return ctx
