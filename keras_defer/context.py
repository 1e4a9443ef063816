"""Gluon's device contexts (``cpu(0)``, ``gpu(0)``) mapped onto Keras device strings.

Gluon code passes ``ctx=`` everywhere and ``Parameter.list_ctx()`` reports where data
lives; keeping the objects lets that code run and lets tests ask where a parameter is.
"""

import keras

from keras_defer import backend


class Context:
    """A device: ``device_type`` is 'cpu' or 'gpu', ``device_id`` its index."""

    __slots__ = ("device_type", "device_id")

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if device_type not in ("cpu", "gpu"):
            raise ValueError(
                "Context device_type must be 'cpu' or 'gpu', got %r" % (device_type,)
            )
        if not isinstance(device_id, int) or device_id < 0:
            raise ValueError("Context device_id must be an int >= 0, got %r" % (device_id,))
        self.device_type = device_type
        self.device_id = device_id

    @property
    def keras_device(self):
        """The device string ``keras.device()`` understands."""
        return backend.device_name(self.device_type, self.device_id)

    @classmethod
    def from_device_string(cls, device):
        """Parse a backend device name such as '/job:localhost/.../device:GPU:0'."""
        text = str(device).lower()
        kind = "gpu" if ("gpu" in text or "cuda" in text) else "cpu"
        tail = text.rsplit(":", 1)[-1]
        return cls(kind, int(tail) if tail.isdigit() else 0)

    def __eq__(self, other):
        return (
            isinstance(other, Context)
            and self.device_type == other.device_type
            and self.device_id == other.device_id
        )

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __repr__(self):
        return "%s(%d)" % (self.device_type, self.device_id)

    def __enter__(self):
        self._scope = keras.device(self.keras_device)
        self._scope.__enter__()
        return self

    def __exit__(self, *exc):
        return self._scope.__exit__(*exc)


def cpu(device_id=0):
    return Context("cpu", device_id)


def gpu(device_id=0):
    return Context("gpu", device_id)


def num_gpus():
    """How many GPUs the active Keras backend can see."""
    return backend.num_gpus()


def current_context():
    """The default device: Gluon's ``cpu(0)`` unless a GPU is present."""
    return gpu(0) if num_gpus() else cpu(0)


def as_context_list(ctx):
    """Normalise Gluon's ``ctx`` argument (None, a Context, an int, or a list)."""
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, (Context, int)):
        ctx = [ctx]
    out = []
    for c in ctx:
        if isinstance(c, Context):
            out.append(c)
        elif isinstance(c, int) and c >= 0:
            out.append(Context(current_context().device_type, c))
        else:
            raise TypeError("ctx must be a Context or a list of Contexts, got %r" % (c,))
    return out
