"""``save_parameters`` / ``load_parameters`` in formats that cannot run code.

A file is written in MXNet's NDArray list format (``keras_defer.mxnet_format``: the
bytes MXNet 1.9.1 writes, plus a checksum trailer MXNet ignores), so MXNet loads what
keras_defer saves and the other way round; a filename ending in ``.npz`` gets
keras_defer's checked NumPy archive instead: a zip of ``.npy`` arrays (what
``np.savez`` writes, readable by ``np.load(path, allow_pickle=False)``) plus one
``__keras_defer__.npy`` header: JSON with the format, version, names and a SHA-256
digest of every name, dtype, shape and byte. Loading sniffs the format from the first
bytes. Names are Gluon's: structural ones (``0.weight``, ``1.bias``: attribute paths,
which survive renaming) from ``save_parameters``, full ones (``dense0_weight``) from
``ParameterDict.save``, and ``arg:``/``aux:`` ones from ``export``, routed as MXNet
routes them. Nothing is ever unpickled.

Loading is all-or-nothing: the file is read and verified, and every name, shape and
dtype checked, before any parameter changes; if writing the values fails part-way,
the old values are put back. Loading into a still-deferred net fixes its shapes and
values without a forward pass, as Gluon does (a later ``initialize()`` then warns
that the parameters are already initialized).

Saving writes a temporary file in the same folder and renames it over the real name,
so a crash mid-save leaves the old file (or none), never a half-written one.
"""

import hashlib
import json
import os
import re
import zipfile

import numpy as np

from keras_defer import first_pass, mxnet_format
from keras_defer.context import as_context_list
from keras_defer.errors import DeferredInitializationError
from keras_defer.mxnet_format import ParameterFileError
from keras_defer.shapes import merge_shapes
from keras_defer.validation import check_bool

__all__ = ["ParameterFileError", "ParameterMismatchError", "save_parameters",
           "load_parameters"]

HEADER = "__keras_defer__"
FORMAT = "keras_defer.parameters"
VERSION = 1


class ParameterMismatchError(ParameterFileError, AssertionError):
    """A sound file that does not fit the net: a missing name, a shape or dtype that
    differs. Also an ``AssertionError``, which is what Gluon raises for these."""


# -- writing ---------------------------------------------------------------------------
def _digest(arrays):
    sha = hashlib.sha256()
    for name in sorted(arrays):
        value = arrays[name]
        sha.update(json.dumps([name, value.dtype.str, list(value.shape)]).encode())
        sha.update(np.ascontiguousarray(value).tobytes())
    return sha.hexdigest()


def _header(arrays):
    text = json.dumps({"format": FORMAT, "version": VERSION, "names": sorted(arrays),
                       "sha256": _digest(arrays)})
    return np.frombuffer(text.encode(), dtype=np.uint8)


def _check_filename(filename, what):
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError("%s: filename must be a str or os.PathLike, got %r"
                        % (what, filename))
    return os.fspath(filename)


def is_npz_name(filename):
    """Whether ``filename`` asks for keras_defer's ``.npz`` format (else MXNet's)."""
    return os.fspath(filename).lower().endswith(".npz")


def _write_atomic(filename, arrays):
    """Write ``arrays`` (an ordered ``{name: ndarray}``) to ``filename`` via a temporary
    file: MXNet's format, or the checked ``.npz`` archive for a ``.npz`` name."""
    if not is_npz_name(filename):
        mxnet_format.write(filename, list(arrays.values()), list(arrays))
        return
    _check_names(arrays, "'%s'" % filename)
    with mxnet_format.atomic_file(filename) as handle:
        np.savez(handle, **{HEADER: _header(arrays)}, **arrays)


def _unready_message(named, what):
    """None if every parameter holds data; else which do not, and why."""
    deferred = [(n, p) for n, p in named.items() if p.variable is None and p.pending]
    never = [(n, p) for n, p in named.items() if p.variable is None and not p.pending]
    if not deferred and not never:
        return None, None
    parts = []
    if deferred:
        parts.append(
            "%s still deferred: their shapes are only known after the first forward pass"
            " (unknown dims are 0). Pass one batch of data through the network (or give"
            " in_units, in_channels, ...) before saving"
            % ", ".join("'%s' (%s, shape %s)" % (n, p.name, p.shape) for n, p in deferred)
        )
    if never:
        parts.append(
            "%s not initialized: call initialize() (and pass one batch through the "
            "network) before saving" % ", ".join("'%s' (%s)" % (n, p.name) for n, p in never)
        )
    message = "Cannot save %s: parameters %s. Nothing was written." % (what, "; ".join(parts))
    return message, (RuntimeError if never else DeferredInitializationError)


def _host(variable):
    """A NumPy copy of a variable's value (never a view of its buffer)."""
    return np.array(variable.numpy(), copy=True)


def _snapshot(named, what):
    """Host copies of every value, taken under the lock (a consistent set of weights)."""
    with first_pass.exclusive():
        message, error = _unready_message(named, what)
        if message:
            raise error(message)
        arrays = {n: _host(p.variable) for n, p in named.items()}
    odd = ["'%s' (%s)" % (n, named[n]._keras_dtype) for n, a in arrays.items()
           if a.dtype.kind not in "biufc"]
    if odd:
        raise TypeError(
            "Cannot save %s: parameters %s have a dtype the file format cannot hold. Cast "
            "the block first (block.cast('float32')). Nothing was written."
            % (what, ", ".join(odd)))
    return arrays


def _check_names(names, what):
    for name in names:
        if (not isinstance(name, str) or not name or name.startswith(HEADER)
                or name in ("file", "allow_pickle")):
            raise ValueError("%s: cannot save a parameter named %r (reserved by the "
                             "file format); rename the attribute that holds it."
                             % (what, name))


def save_parameters(block, filename, deduplicate=False):
    what = "block '%s'" % block.name
    filename = _check_filename(filename, "save_parameters")
    check_bool("save_parameters", "deduplicate", deduplicate)
    named = block._collect_params_with_prefix()
    if deduplicate:  # Gluon keeps the last name of a shared parameter, in first-use order
        last = {}
        for name, param in named.items():
            last[id(param)] = (name, param)
        named = dict(last.values())
    _write_atomic(filename, _snapshot(named, what))


def save_param_dict(param_dict, filename, strip_prefix=""):
    what = "ParameterDict '%s'" % param_dict.prefix
    filename = _check_filename(filename, "ParameterDict.save")
    if not isinstance(strip_prefix, str):
        raise TypeError("strip_prefix must be a str, got %r" % (strip_prefix,))
    named = {}
    for name, param in param_dict.items():
        if not name.startswith(strip_prefix):
            raise ValueError("Prefix '%s' is to be striped before saving, but Parameter's "
                             "name '%s' does not start with '%s'."
                             % (strip_prefix, name, strip_prefix))
        named[name[len(strip_prefix):]] = param
    _write_atomic(filename, _snapshot(named, what))


# -- reading ---------------------------------------------------------------------------
def _not_ours(filename, why):
    return ParameterFileError(
        "'%s' is not a parameter file: %s. Parameter files are MXNet's NDArray files "
        "(what save_parameters() and mx.nd.save write) or keras_defer's .npz archives "
        "with a '%s' header." % (filename, why, HEADER)
    )


def _sniff(filename, head):
    if head[:1] == b"\x80":
        return _not_ours(filename, "it looks like a pickle, which keras_defer never "
                         "loads because unpickling can run arbitrary code")
    if head.startswith(b"\x93NUMPY"):
        return _not_ours(filename, "it is a single .npy array, not an archive")
    return _not_ours(filename, "it starts with neither MXNet's magic 0x112 nor a zip "
                     "archive's 'PK'")


def _read_mxnet(filename):
    arrays, names = mxnet_format.read(filename)
    if arrays and not names:
        raise ParameterFileError(
            "'%s' holds a list of %d arrays without names (mx.nd.save of a list); "
            "parameters are loaded by name. Load it with nd.load and set the values with "
            "Parameter.set_data." % (filename, len(arrays)))
    return dict(zip(names, arrays))  # a repeated name: the last wins, as MXNet's dict


def _read(filename):
    """``{name: ndarray}`` from a verified file, or ``ParameterFileError``."""
    # a regular file only (a named pipe would block forever); FileNotFoundError etc.
    # propagate as is
    with mxnet_format.open_regular(filename) as handle:
        head = handle.read(16)
        handle.seek(0)
        if mxnet_format.is_mxnet_file(head):
            return _read_mxnet(filename)
        if not head.startswith(b"PK"):
            raise _sniff(filename, head)
        try:
            arrays = _read_archive(handle)
        except ParameterFileError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
                KeyError, UnicodeDecodeError, NotImplementedError, RuntimeError) as exc:
            raise ParameterFileError(
                "'%s' is damaged or truncated and cannot be read (%s: %s). No parameter "
                "was changed." % (filename, type(exc).__name__, exc)
            ) from None
    header = arrays.pop(HEADER, None)
    if header is None:
        raise _not_ours(filename, "it is a NumPy .npz archive without the header")
    try:
        meta = parse_json(header.tobytes(), filename, "the keras_defer header",
                          max_depth=_HEADER_DEPTH)
        assert isinstance(meta, dict) and meta.get("format") == FORMAT
    except AssertionError:
        raise ParameterFileError("'%s': the keras_defer header is damaged." % filename) from None
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise ParameterFileError(
            "'%s' was written in keras_defer parameter format version %r; this keras_defer"
            " reads up to version %d. Upgrade keras_defer." % (filename, meta.get("version"),
                                                             VERSION))
    if meta.get("names") != sorted(arrays) or meta.get("sha256") != _digest(arrays):
        raise ParameterFileError(
            "'%s' is damaged: its contents do not match the checksum written with it. No"
            " parameter was changed." % filename)
    return arrays


#: Our header nests 2 deep (an object holding a list); anything far deeper is hostile.
_HEADER_DEPTH = 16
#: A deflated member may expand at most this much (float weights deflate to ~90 %;
#: keras_defer itself writes members stored, uncompressed). Deflate reaches ~1,000x
#: on zeros, which is how a 2 MB file claims 2 GiB.
MAX_INFLATE_RATIO = 32
_INFLATE_SLACK = 1 << 16  # tiny members (a header, a scalar) may expand more
_READ_CHUNK = 4 << 20


def parse_json(raw, label, what, max_depth):
    """JSON from a file's bytes, nesting at most ``max_depth`` deep, else
    ``ParameterFileError`` (never ``RecursionError``: the depth is measured without
    recursion before ``json`` parses anything)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    except UnicodeDecodeError:
        raise ParameterFileError("'%s': %s is not UTF-8 text." % (label, what)) from None
    depth = json_depth(text)
    if depth > max_depth:
        raise ParameterFileError(
            "'%s': %s nests %d levels deep; at most %d are expected. The file is damaged or"
            " was made to attack the reader; nothing was changed." % (label, what, depth,
                                                                      max_depth))
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParameterFileError("'%s': %s is damaged (%s)." % (label, what, exc)) from None


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def json_depth(text):
    """The deepest nesting of ``[``/``{`` in JSON ``text`` (strings skipped), vectorized."""
    stripped = _JSON_STRING.sub("", text).encode("utf-8", "replace")
    codes = np.frombuffer(stripped, dtype=np.uint8)
    steps = (np.isin(codes, (ord("["), ord("{"))).astype(np.int64)
             - np.isin(codes, (ord("]"), ord("}"))))
    return int(np.cumsum(steps).max()) if steps.size else 0


def _member_size_problem(info):
    """Why a zip member's declared sizes are refused (before anything is inflated)."""
    if info.compress_type == zipfile.ZIP_STORED:
        if info.file_size != info.compress_size:
            return "it is stored uncompressed but declares %d bytes in %d" % (
                info.file_size, info.compress_size)
        return None
    bound = MAX_INFLATE_RATIO * info.compress_size + _INFLATE_SLACK
    if info.file_size > bound:
        return ("it declares %d bytes compressed into %d (a ratio of %.0f:1, above the "
                "%d:1 keras_defer accepts: a zip bomb, or an archive of almost constant "
                "arrays: save it uncompressed with np.savez or save_parameters)"
                % (info.file_size, info.compress_size,
                   info.file_size / max(info.compress_size, 1), MAX_INFLATE_RATIO))
    return None


def _read_member(archive, info, name):
    """One ``.npy`` member, checked from its headers before anything is allocated: the
    zip's declared size must be the npy header's plus its shape's bytes exactly."""
    problem = _member_size_problem(info)
    if problem:
        raise ParameterFileError("entry '%s' is refused: %s. Nothing was loaded."
                                 % (name, problem))
    with archive.open(info) as member:  # reads at most the declared size; checks CRC
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError("%r: npy version %s" % (name, version))
        reader = {(1, 0): np.lib.format.read_array_header_1_0}.get(
            version, np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = reader(member)  # numpy bounds the header's size
        if dtype.kind not in "biufc" or dtype.hasobject:
            raise ValueError("%r holds dtype %s" % (name, dtype))
        nbytes = dtype.itemsize
        for dim in shape:
            nbytes *= int(dim)  # Python ints: no overflow
        left = info.file_size - member.tell()
        if nbytes != left:
            raise ParameterFileError(
                "entry '%s' declares shape %s of %s (%d bytes) but the archive holds %d "
                "bytes for it: damaged, truncated or hostile. Nothing was allocated or "
                "loaded." % (name, tuple(shape), dtype.name, nbytes, left))
        data = np.empty(nbytes, dtype=np.uint8)  # the checked size; writable, aligned
        done = 0
        while done < nbytes:  # in chunks: no second copy of a big array
            chunk = member.read(min(_READ_CHUNK, nbytes - done))
            if not chunk:
                break
            data[done:done + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            done += len(chunk)
        if done != nbytes or member.read(1):
            raise ValueError("%r: %d bytes of data, %d declared" % (name, done, nbytes))
    value = data.view(dtype)
    order = "F" if fortran else "C"
    return value.reshape(shape, order=order).copy(order="C") if fortran \
        else value.reshape(shape)


def read_npz(handle, label):
    """``{name: ndarray}`` from a zip of ``.npy`` members (an open binary file), with
    every member's sizes checked from the headers before it is read: memory stays
    bounded by what the file holds (at most ``MAX_INFLATE_RATIO`` times, for a deflated
    member), whatever the headers claim. Errors: ``ParameterFileError`` naming the
    member, or the zip/numpy errors that ``_read`` turns into one."""
    arrays = {}
    with zipfile.ZipFile(handle) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise ValueError("unexpected member %r" % info.filename)
            name = info.filename[:-4]
            if name in arrays:
                raise ValueError("member %r appears twice" % info.filename)
            try:
                arrays[name] = _read_member(archive, info, name)
            except ParameterFileError as exc:
                raise ParameterFileError("'%s': %s" % (label, exc)) from None
    return arrays


def _read_archive(handle):
    return read_npz(handle, getattr(handle, "name", "<archive>"))


# -- loading ---------------------------------------------------------------------------
def _brief(names, limit=8):
    names = list(names)
    text = ", ".join("'%s'" % n for n in names[:limit])
    return text + (", ... (%d in all)" % len(names) if len(names) > limit else "")


def _noun(names):
    return ("Parameter " if len(names) == 1 else "Parameters ") + _brief(names)


def _plan_load(named, arrays, filename, allow_missing, ignore_extra, cast_dtype,
               dtype_source):
    """``[(param, value, dtype)]`` to apply; raises before anything changes."""
    names_of = {}
    for name, param in named.items():
        names_of.setdefault(id(param), []).append(name)
    if not allow_missing:
        missing = [n for n, p in named.items()
                   if not any(alias in arrays for alias in names_of[id(p)])]
        if missing:
            raise ParameterMismatchError(
                "%s %s missing in file '%s', which contains parameters: %s. Set "
                "allow_missing=True to ignore missing parameters."
                % (_noun(missing), "is" if len(missing) == 1 else "are", filename,
                   _brief(arrays)))
    extra = [n for n in arrays if n not in named]
    if extra and not ignore_extra:
        raise ParameterMismatchError(
            "%s loaded from file '%s' %s not present in the network, which "
            "contains parameters %s. Set ignore_extra=True to ignore."
            % (_noun(extra), filename, "is" if len(extra) == 1 else "are", _brief(named)))
    plan = {}  # id(param) -> [param, value, shape, dtype]
    for name in arrays:  # file order, as Gluon: a shared parameter's last entry wins
        if name not in named:
            continue
        param, value = named[name], arrays[name]
        entry = plan.get(id(param))
        known = entry[2] if entry else param.shape
        shape = merge_shapes(known, value.shape)
        if shape is not None and any(v == 0 and k == 0 for k, v in zip(known or (),
                                                                         value.shape)):
            # MXNet 1.9.1 refuses it too (MXNetError: _copyto inferring shapes failed)
            raise ParameterMismatchError(
                "Failed loading Parameter '%s' (%s) from file '%s': the saved shape %s is "
                "incomplete (a 0 dim where the parameter's shape %s is still unknown); a "
                "saved parameter has a complete shape. Was the file written from a "
                "deferred parameter? Nothing was changed."
                % (name, param.name, filename, tuple(value.shape), known))
        if shape is None or shape != tuple(value.shape):
            raise ParameterMismatchError(
                "Failed loading Parameter '%s' (%s) from file '%s': shape incompatible, "
                "expected %s vs saved %s. Was the file saved from a different "
                "architecture?" % (name, param.name, filename, known, tuple(value.shape)))
        dtype = np.dtype(param.dtype)
        if value.dtype != dtype:
            if not cast_dtype:
                raise ParameterMismatchError(
                    "Failed loading Parameter '%s' (%s) from file '%s': dtype "
                    "incompatible, expected %s vs saved %s. Set cast_dtype=True to cast "
                    "the dtype of saved params." % (name, param.name, filename, dtype.name,
                                                    value.dtype.name))
            if dtype_source == "saved":
                dtype = value.dtype
            else:
                value = value.astype(dtype)
        plan[id(param)] = [param, value, shape, dtype]
    return list(plan.values())


def _apply(plan, ctx):
    """Write every value; if one write fails, put every parameter back."""
    undo = []
    try:
        for param, value, shape, dtype in plan:
            undo.append((param, param._checkpoint()))
            param._load(value, shape, dtype, ctx)
    except BaseException:
        for param, checkpoint in reversed(undo):
            param._rollback(checkpoint)
        raise


def _check_load_args(allow_missing, ignore_extra, cast_dtype, dtype_source):
    for arg, value in (("allow_missing", allow_missing), ("ignore_extra", ignore_extra),
                       ("cast_dtype", cast_dtype)):
        check_bool("load_parameters", arg, value)
    if dtype_source not in ("current", "saved"):
        raise ValueError("load_parameters: dtype_source must be 'current' or 'saved', got %r"
                         % (dtype_source,))


def _load_into(named, arrays, filename, ctx, allow_missing, ignore_extra, cast_dtype,
               dtype_source):
    ctx = as_context_list(ctx) if ctx is not None else None
    with first_pass.lock():
        plan = _plan_load(named, arrays, filename, allow_missing, ignore_extra, cast_dtype,
                          dtype_source)
        _apply(plan, ctx)


def load_parameters(block, filename, ctx=None, allow_missing=False, ignore_extra=False,
                    cast_dtype=False, dtype_source="current"):
    filename = _check_filename(filename, "load_parameters")
    _check_load_args(allow_missing, ignore_extra, cast_dtype, dtype_source)
    arrays = _read(filename)
    named = block._collect_params_with_prefix()
    if not arrays and not named:
        return
    if not any("." in n for n in arrays):
        # Gluon's legacy layout (full names, e.g. from collect_params().save()); also
        # what a childless block's structural names look like.
        return load_param_dict(block.collect_params(), filename, ctx, allow_missing,
                               ignore_extra, block.prefix, cast_dtype, dtype_source,
                               arrays=arrays)
    _load_into(named, arrays, filename, ctx, allow_missing, ignore_extra, cast_dtype,
               dtype_source)


def load_param_dict(param_dict, filename, ctx=None, allow_missing=False, ignore_extra=False,
                    restore_prefix="", cast_dtype=False, dtype_source="current", arrays=None):
    filename = _check_filename(filename, "ParameterDict.load")
    _check_load_args(allow_missing, ignore_extra, cast_dtype, dtype_source)
    if not isinstance(restore_prefix, str):
        raise TypeError("restore_prefix must be a str, got %r" % (restore_prefix,))
    for name in param_dict.keys():
        if not name.startswith(restore_prefix):
            raise ValueError(
                "restore_prefix is '%s' but Parameters name '%s' does not start with '%s'"
                % (restore_prefix, name, restore_prefix))
    if arrays is None:
        arrays = _read(filename)
    # export()'s names: 'arg:'/'aux:' dropped, as MXNet's ParameterDict.load_dict
    arrays = {(n[4:] if n.startswith(("arg:", "aux:")) else n): v for n, v in arrays.items()}
    named = {name[len(restore_prefix):]: param for name, param in param_dict.items()}
    _load_into(named, arrays, filename, ctx, allow_missing, ignore_extra, cast_dtype,
               dtype_source)
