"""conformance: a hypothesis-driven kit that checks an implementation of MXNet Gluon's
parameter semantics (deferred initialization), MXNet 1.x's NDArray and its autograd,
Gluon's losses, optimizers, learning-rate schedulers and Trainer, and MXNet's file
formats (nd.save/load, parameter files, export), clause by clause.

Random architectures nest Sequential/HybridSequential containers around Dense layers and,
in some families, a stem of convolutions (1-3D, transposed), pooling, normalization
(BatchNorm, LayerNorm, InstanceNorm), Dropout, Activation, (Hybrid)Lambda and Flatten,
or recurrent layers (RNN, LSTM, GRU) after an optional Embedding.

Arrays of five dtypes are made, indexed, written, reshaped, reduced, compared and
combined (group ndarray); random programs over attached arrays are recorded and
differentiated (group autograd); every gluon.loss is called on drawn inputs (group loss);
Parameters are trained by a Trainer with a drawn optimizer (group trainer); numpy models
predict all four.  Arrays of every dtype MXNet saves and drawn nets' parameters are
saved, loaded, damaged and exported, judged by a reference parser and writer of MXNet's
NDArray list file (group file_format, file_format_model).

`python -m conformance --impl keras_defer|mxnet` or `pytest --pyargs conformance`.
The core (clauses, arch, the models, strategies, checks, machine, runner) imports no
framework; adapters import theirs lazily.
"""

__all__ = ["arch", "autograd_model", "checks", "clauses", "file_format_model", "loss_model",
           "model", "ndarray_model", "optimizer_model"]
