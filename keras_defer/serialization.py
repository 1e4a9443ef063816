"""``save_parameters`` / ``load_parameters`` in a format that cannot run code.

Files are NumPy ``.npz`` archives read with ``allow_pickle=False``, keyed by Gluon's
structural names (``0.weight``, ``1.act...``) like ``Block.save_parameters``. A load
checks every name and shape before it changes anything; a save writes a temporary
file and renames it, so a crash never leaves a half-written file under the real name.
Loading into a still-deferred net fixes its shapes and values without a forward pass.
"""

import os
import tempfile
import zipfile

import numpy as np

from keras_defer.errors import MXNetError
from keras_defer.parameter import merge_shapes

_FORMAT_KEY = "__keras_defer_format__"


class ParameterFileError(MXNetError, ValueError):
    """A parameter file that is not ours, is damaged, or does not fit the net."""


def structural_params(block, prefix=""):
    """``{'0.weight': Parameter, ...}``: Gluon's names that survive renaming."""
    out = {}
    for attr, param in block._reg_params.items():
        if param is not None:
            out[prefix + attr] = param
    for key, child in block._children.items():
        out.update(structural_params(child, prefix + key + "."))
    return out


def _write_atomic(filename, arrays):
    filename = os.fspath(filename)
    folder = os.path.dirname(os.path.abspath(filename))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, filename)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _collect_arrays(named_params, what):
    missing = [n for n, p in named_params.items() if p.variable is None]
    if missing:
        raise MXNetError(
            "Cannot save %s: parameters %s are not initialized yet (their shapes are "
            "only known after the first forward pass, or initialize() was never called)."
            " Pass one batch through the network first." % (what, missing)
        )
    arrays = {n: np.asarray(p.variable) for n, p in named_params.items()}
    arrays[_FORMAT_KEY] = np.array(1)
    return arrays


def save_parameters(block, filename, deduplicate=False):
    named = structural_params(block)
    if deduplicate:
        seen, unique = set(), {}
        for name, param in named.items():
            if id(param) not in seen:
                seen.add(id(param))
                unique[name] = param
        named = unique
    _write_atomic(filename, _collect_arrays(named, "block %s" % block.name))


def save_param_dict(param_dict, filename, strip_prefix=""):
    named = {}
    for name, param in param_dict.items():
        if strip_prefix and not name.startswith(strip_prefix):
            raise ValueError("Prefix '%s' is to be striped before saving, but Parameter "
                             "'%s' does not start with it." % (strip_prefix, name))
        named[name[len(strip_prefix):]] = param
    _write_atomic(filename, _collect_arrays(named, "ParameterDict %s" % param_dict.prefix))


def _read(filename):
    try:
        with np.load(os.fspath(filename), allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ParameterFileError(
            "'%s' is not a readable keras_defer parameter file (%s: %s)"
            % (filename, type(exc).__name__, exc)
        ) from None
    if _FORMAT_KEY not in arrays:
        raise ParameterFileError("'%s' is not a keras_defer parameter file" % (filename,))
    arrays.pop(_FORMAT_KEY)
    return arrays


def _load_into(named, arrays, filename, allow_missing, ignore_extra, cast_dtype):
    missing = [n for n in named if n not in arrays]
    extra = [n for n in arrays if n not in named]
    if missing and not allow_missing:
        raise ParameterFileError(
            "Parameters %s are missing in file '%s'. Set allow_missing=True to ignore "
            "missing parameters." % (missing, filename)
        )
    if extra and not ignore_extra:
        raise ParameterFileError(
            "Parameters %s in file '%s' are not in the network. Set ignore_extra=True to "
            "ignore them." % (extra, filename)
        )
    plan = []
    for name, param in named.items():
        if name not in arrays:
            continue
        value = arrays[name]
        if merge_shapes(param.shape, value.shape) != tuple(value.shape):
            raise ParameterFileError(
                "Parameter '%s' (%s) has shape %s, but file '%s' holds shape %s for it."
                % (name, param.name, param.shape, filename, tuple(value.shape))
            )
        if np.dtype(param.dtype) != value.dtype:
            if not cast_dtype:
                raise ParameterFileError(
                    "Parameter '%s' has dtype %s, but file '%s' holds %s. Set "
                    "cast_dtype=True to convert." % (name, np.dtype(param.dtype).name,
                                                     filename, value.dtype)
                )
            value = value.astype(np.dtype(param.dtype))
        plan.append((param, value))
    for param, value in plan:
        param._shape = tuple(value.shape)
        if param.variable is None and param.pending is None:
            from keras_defer.parameter import PendingInit
            from keras_defer import init as initializer

            param.pending = PendingInit(None, None, initializer.Uniform(), None)
        param._store(value, param._ctx_list or (param.pending.ctx if param.pending else None))
        param.pending = None


def load_parameters(block, filename, ctx=None, allow_missing=False, ignore_extra=False,
                    cast_dtype=False):
    from keras_defer import first_pass

    arrays = _read(filename)
    with first_pass.lock():
        _load_into(structural_params(block), arrays, filename, allow_missing,
                   ignore_extra, cast_dtype)


def load_param_dict(param_dict, filename, allow_missing=False, ignore_extra=False,
                    restore_prefix="", cast_dtype=False):
    arrays = _read(filename)
    named = {n[len(restore_prefix):]: p for n, p in param_dict.items()
             if n.startswith(restore_prefix)}
    _load_into(named, arrays, filename, allow_missing, ignore_extra, cast_dtype)
