"""``gluon.utils``: MXNet 1.9.1's helpers for data parallelism, gradient clipping and
downloads (``split_data``, ``split_and_load``, ``clip_global_norm``, ``check_sha1``,
``download``, ``shape_is_known``).

``split_and_load`` places one slice per context with ``as_in_context``; keras_defer
maps each context to one Keras device (``keras_defer.context``), so slices for
``cpu(0)`` and ``cpu(1)`` land on the same host device where the backend has one.
``clip_global_norm`` scales the given arrays in place (``arr *= scale``), which writes
through to a parameter's gradient buffer when the arrays are ``p.grad()``.
"""

import hashlib
import os
import uuid
import warnings

import numpy as np

from keras_defer import multi_device, nd
from keras_defer.display import indent
from keras_defer.hooks import HookHandle  # noqa: F401  (MXNet has it here)
from keras_defer.nd.ndarray import NDArray

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1", "download",
           "replace_file"]


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Split ``data`` into ``num_slice`` slices along ``batch_axis``: a list, also for
    one slice. ``even_split=True`` refuses a size that ``num_slice`` does not divide;
    otherwise the first slices take one more element. Along axis 0 the slices are
    views of ``data`` (basic indexing), as in MXNet; along other axes, copies."""
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise ValueError(
            "data with shape %s cannot be evenly split into %d slices along axis %d. "
            "Use a batch size that's multiple of %d or set even_split=False to allow "
            "uneven partitioning of data." % (
                str(data.shape), num_slice, batch_axis, num_slice))

    n_each_section, extras = divmod(size, num_slice)
    section_sizes = [0] + (extras * [n_each_section + 1] +
                           (num_slice - extras) * [n_each_section])
    div_points = np.array(section_sizes).cumsum()
    if batch_axis != 0:
        return [nd.slice_axis(data, axis=batch_axis, begin=int(div_points[i]),
                              end=int(div_points[i + 1]))
                for i in range(num_slice)]
    return [data[int(div_points[i]):int(div_points[i + 1])] if i < num_slice - 1
            else data[int(div_points[i]):size]
            for i in range(num_slice)]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Split ``data`` (an NDArray, or anything ``nd.array`` takes) into
    ``len(ctx_list)`` slices along ``batch_axis`` and put slice i on ``ctx_list[i]``.
    With one context the whole array is returned (itself if it is already there)."""
    if not isinstance(data, NDArray):
        data = nd.array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    # the context each slice is for, where its device would not say (multi_device)
    return [multi_device.note_placement(i.as_in_context(ctx), ctx)
            for i, ctx in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Scale ``arrays`` in place so that their joint 2-norm is at most ``max_norm``.

    Returns the norm before scaling: a numpy float32 scalar, or with
    ``check_isfinite=False`` an NDArray of shape (1,) (no host read). A nan or inf
    norm warns (``check_isfinite``) and leaves the result undefined, as in MXNet."""
    def _norm(array):
        x = array.reshape((-1,))
        return nd.dot(x, x)

    if not len(arrays) > 0:
        raise AssertionError("clip_global_norm needs at least one array, got an empty list")
    ctx = arrays[0].context
    total_norm = nd.add_n(*[_norm(arr).as_in_context(ctx) for arr in arrays])
    total_norm = nd.sqrt(total_norm)
    if check_isfinite:
        if not np.isfinite(total_norm.asscalar()):
            warnings.warn(
                UserWarning("nan or inf is detected. "
                            "Clipping results will be undefined."), stacklevel=2)
    scale = max_norm / (total_norm + 1e-8)
    scale = nd.min(nd.concat(scale, nd.ones(1, ctx=ctx), dim=0))
    for arr in arrays:
        arr *= scale.as_in_context(arr.context)
    if check_isfinite:
        return total_norm.asscalar()
    return total_norm


def _indent(s_, numSpaces):  # noqa: N803 - MXNet's signature
    """Indent every line of ``s_`` but the first (Gluon's nested reprs)."""
    return indent(s_, numSpaces)


def check_sha1(filename, sha1_hash):
    """Whether the SHA-1 of the file's content is ``sha1_hash`` (hex digits)."""
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        while True:
            data = f.read(1048576)
            if not data:
                break
            sha1.update(data)
    return sha1.hexdigest() == sha1_hash


def replace_file(src, dst):
    """Move ``src`` to ``dst`` atomically (one file system); on failure remove
    ``src`` and raise ``OSError``."""
    try:
        os.replace(src, dst)
    except OSError:
        try:
            os.remove(src)
        except OSError:
            pass
        raise OSError("Moving downloaded temp file - {}, to {} failed. Please retry the "
                      "download.".format(src, dst)) from None


def _http_get(url, verify_ssl):
    """``(status_code, chunks)`` of a streamed GET (``requests``, as MXNet; the
    standard library where it is missing)."""
    try:
        import requests
    except ImportError:
        requests = None
    if requests is not None:
        response = requests.get(url, stream=True, verify=verify_ssl)
        return response.status_code, response.iter_content(chunk_size=1024)
    import ssl
    import urllib.error
    import urllib.request
    context = None if verify_ssl else ssl._create_unverified_context()
    try:
        response = urllib.request.urlopen(url, context=context)
    except urllib.error.HTTPError as error:
        return error.code, iter(())
    return response.status, iter(lambda: response.read(1024), b"")


def download(url, path=None, overwrite=False, sha1_hash=None, retries=5, verify_ssl=True):
    """Download ``url`` to ``path`` (a file, a directory, or by default the URL's file
    name in the current directory) and return the file's path.

    An existing file is kept unless ``overwrite`` or its SHA-1 differs from
    ``sha1_hash``. The data goes to a temporary file renamed into place; a failed
    attempt is retried ``retries`` times in all, and the last error is raised."""
    if path is None:
        fname = url.split("/")[-1]
        if not fname:
            raise AssertionError("Can't construct file-name from this URL. "
                                 "Please set the `path` option manually.")
    else:
        path = os.path.expanduser(path)
        if os.path.isdir(path):
            fname = os.path.join(path, url.split("/")[-1])
        else:
            fname = path
    if not retries >= 0:
        raise AssertionError("Number of retries should be at least 0, currently it's {}"
                             .format(retries))

    if not verify_ssl:
        warnings.warn(
            "Unverified HTTPS request is being made (verify_ssl=False). "
            "Adding certificate verification is strongly advised.")

    if overwrite or not os.path.exists(fname) or (sha1_hash and not check_sha1(fname, sha1_hash)):
        dirname = os.path.dirname(os.path.abspath(os.path.expanduser(fname)))
        if not os.path.exists(dirname):
            os.makedirs(dirname, exist_ok=True)
        while retries + 1 > 0:
            try:
                print("Downloading {} from {}...".format(fname, url))
                status, chunks = _http_get(url, verify_ssl)
                if status != 200:
                    raise RuntimeError("Failed downloading url {}".format(url))
                temporary = "{}.{}".format(fname, str(uuid.uuid4()))
                try:
                    with open(temporary, "wb") as f:
                        for chunk in chunks:
                            if chunk:  # filter out keep-alive chunks
                                f.write(chunk)
                except BaseException:
                    if os.path.exists(temporary):
                        os.remove(temporary)
                    raise
                # another process may have put a good file there meanwhile
                if not os.path.exists(fname) or (sha1_hash and not check_sha1(fname, sha1_hash)):
                    replace_file(temporary, fname)
                else:
                    try:
                        os.remove(temporary)
                    except OSError:
                        pass
                    finally:
                        warnings.warn("File {} exists in file system so the downloaded "
                                      "file is deleted".format(fname))
                if sha1_hash and not check_sha1(fname, sha1_hash):
                    raise UserWarning(
                        "File {} is downloaded but the content hash does not match."
                        " The repo may be outdated or download may be incomplete. "
                        'If the "repo_url" is overridden, consider switching to '
                        "the default repo.".format(fname))
                break
            except Exception as e:  # noqa: BLE001 - MXNet retries on any failure
                retries -= 1
                if retries <= 0:
                    raise e
                print("download failed due to {}, retrying, {} attempt{} left"
                      .format(repr(e), retries, "s" if retries > 1 else ""))
    return fname


def _get_repo_url():
    """The base URL of Gluon's dataset and model repository (``MXNET_GLUON_REPO``)."""
    default_repo = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
    repo_url = os.environ.get("MXNET_GLUON_REPO", default_repo)
    if repo_url[-1] != "/":
        repo_url = repo_url + "/"
    return repo_url


def _get_repo_file_url(namespace, filename):
    """The URL of ``filename`` under ``namespace`` in Gluon's repository."""
    return "{base_url}{namespace}/{filename}".format(base_url=_get_repo_url(),
                                                     namespace=namespace,
                                                     filename=filename)


def _brief_print_list(lst, limit=7):
    """At most ``limit`` elements of ``lst``, quoted, with ``...`` in the middle."""
    lst = list(lst)
    if len(lst) > limit:
        return _brief_print_list(lst[:limit // 2], limit) + ", ..., " + \
            _brief_print_list(lst[-limit // 2:], limit)
    return ", ".join(["'%s'" % str(i) for i in lst])


def shape_is_known(shape):
    """Whether every dim of ``shape`` is known: Gluon 1.x marks an unknown dim 0, and
    ``()`` (unknown rank) or ``None`` is unknown; a negative dim is an error."""
    if shape is None:
        return False
    if len(shape) == 0:
        return False
    for dim_size in shape:
        if dim_size == 0:
            return False
        if not dim_size > 0:
            raise AssertionError("shape dimension size cannot be less than 0, while "
                                 "received {}".format(dim_size))
    return True

