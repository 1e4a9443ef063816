"""An NDArray whose data is a ``keras.Variable``: what ``Parameter.data()`` returns.

Reads see the variable's current value; every write (``w[:] = 0``, ``w -= lr * g``,
``w[0, 1] = 3``, ``nd.elemwise_add(a, b, out=w)``) assigns the new value to the
variable, so Keras layers, optimizers and saved models see it at once, as Gluon code
writing into ``param.data()`` expects. Views of it (``w[0]``, ``w.reshape(...)``) write
through as well.

On PyTorch a variable is assigned in place (``copy_``): an array computed from ``w``
by an op that PyTorch answers with a view of the same storage (``nd.transpose(w)``)
follows later assignments to ``w``.
"""

from keras_defer.context import Context
from keras_defer.nd import _backend
from keras_defer.nd.ndarray import NDArray

__all__ = ["VariableNDArray"]


class VariableNDArray(NDArray):
    """``NDArray`` reading from and writing to ``variable`` (a ``keras.Variable``)."""

    __slots__ = ("_variable", "_parameter")

    def __init__(self, variable, parameter=None):
        self._variable = variable
        self._parameter = parameter  # whose gradient ``grad`` shows (Parameter.data())
        self._grad = None
        self._grad_req = "null"

    @property
    def grad(self):
        """The parameter's gradient (``Parameter.grad()``), as MXNet's
        ``param.data().grad``; None where it has none (grad_req 'null')."""
        parameter = self._parameter
        if parameter is None or self._grad is not None:
            return self._grad
        if parameter.grad_req == "null" or parameter.variable is not self._variable:
            return None
        return parameter.grad()

    @property
    def _fresh_grad(self):
        """MXNet's flag: a backward wrote the parameter's gradient since the last
        Trainer step. Code that writes ``p.grad()`` itself sets it, as in MXNet
        (``p.data()._fresh_grad = True``), so ``trainer.step`` takes that gradient."""
        parameter = self._parameter
        return bool(parameter is not None and parameter._fresh_grad)

    @_fresh_grad.setter
    def _fresh_grad(self, fresh):
        if self._parameter is None:
            raise AttributeError("_fresh_grad: this array is not a Parameter's data()")
        self._parameter._set_fresh_grad(fresh)

    @property
    def variable(self):
        return self._variable

    @property
    def shape(self):
        return tuple(self._variable.shape)  # without reading the value

    @property
    def context(self):
        """Where the variable lives (asked of the variable, without reading it)."""
        return Context.from_device_string(_backend.device_string(self._variable.value))

    ctx = context

    @property
    def _data(self):
        return _backend.read_variable(self._variable)

    @_data.setter
    def _data(self, tensor):
        self._variable.assign(tensor)
