"""What a leaf block of an architecture knows about itself in Gluon 1.9.1.

A leaf is a frozen dataclass of the constructor arguments a user writes.  It also answers
every question the reference model asks about a block of its kind: its name hint, the
parameters it declares, the shapes an input requires of them, its output shape and its
repr.  The model asks the node and never tests its class, so a new kind of block is one
subclass in its family's module (basic, conv, norm, rnn, utility, as Gluon's and
keras_defer's nn packages group them).

The defaults here describe a block without parameters that keeps its input's shape.
"""

# Parameter.__repr__ prints the dtype a block passed: Conv and the norms leave it at its
# default, the class numpy.float32; the others pass the string 'float32' (MXNet 1.9.1)
NP_FLOAT32 = "<class 'numpy.float32'>"


class Layer:
    prefix = None          # prefix= (Dense only)
    share = None           # params=<earlier Dense>.params: its creation number (Dense only)
    shareable = False      # may be shared or added again: numbered in creation order (Dense)
    hybrid = True          # a HybridBlock (only Lambda is a plain Block)
    dtype = "float32"      # as repr(Parameter) prints it
    # MXNet's shape function assigns the parameters' shapes instead of checking them
    # against known ones (BatchNorm, InstanceNorm): a contradicting known shape passes the
    # symbolic inference and fails only when Gluon's _infer_attrs writes the shapes back
    overwrites_shapes = False
    # MXNet's operator runs on with initialized parameters of the wrong size (BatchNorm:
    # its shape function overwrites them, the kernel reads what it needs)
    runs_on_wrong_size = False
    # the block passes its input's axes through to the next one (no parameters, no
    # flattening), so what comes after it still speaks of the net's input
    keeps_input_axes = False

    @property
    def hint(self):
        """Gluon's name hint (the class's _alias): dense0_, conv1_, ..."""
        return type(self).__name__.lower()

    def source(self, refs):
        """The constructor call a user writes (`refs`: names of earlier shareable blocks)."""
        raise NotImplementedError

    def declared_params(self):
        """(attribute, shape before the first pass (0 = unknown), own initializer or None,
        grad_req) in Gluon's registration order, which is its initialization order."""
        return []

    def required_shapes(self, shape):
        """attribute -> the full shape an input of `shape` requires of that parameter."""
        return {}

    def output_shape(self, shape):
        return tuple(shape)

    def gluon_repr(self, shape_of):
        """repr(block) as Gluon 1.9.1 prints it; `shape_of(attribute)` is a parameter's
        current shape."""
        raise NotImplementedError

    def fixed_input_size(self, shape_of):
        """(axis, size): the input axis the block reads first and the size its parameters
        fix there (0 while unknown); None when it reads no axis of the net's input."""
        return None

    def _expect_rank(self, shape, rank):
        if len(shape) != rank:  # the strategies never draw it: the model does not predict it
            raise AssertionError("%s on an input of shape %s" % (self, shape))


def features(shape, flatten):
    """The feature size a layer reads: all non-batch dims (flatten) or the last one."""
    if flatten:
        n = 1
        for d in shape[1:]:
            n *= d
        return n
    return shape[-1]


def known_or_none(size):
    """A size as Gluon's reprs print it: None while unknown (0)."""
    return size if size else None


def activation_text(activation):
    return "Activation(%s)" % activation if activation else None


def source_args(*pairs, **kw):
    """Source of positional arguments, then of keyword arguments (value, default) that
    differ from their defaults."""
    out = [repr(a) for a in pairs]
    for key, (value, default) in kw.items():
        if value != default:
            out.append("%s=%r" % (key, value))
    return ", ".join(out)
