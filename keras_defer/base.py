"""``mxnet.base`` stand-in, so ``from mxnet.base import MXNetError`` ports unchanged."""

from keras_defer.errors import MXNetError, NotImplementedForSymbol  # noqa: F401


def data_dir_default():
    """MXNet's default data directory: ``%APPDATA%\\mxnet`` on Windows, else ``~/.mxnet``."""
    import os
    import platform

    if platform.system() == "Windows":
        return os.path.join(os.environ.get("APPDATA"), "mxnet")
    return os.path.join(os.path.expanduser("~"), ".mxnet")


def data_dir():
    """Where datasets and models live (MXNet's ``base.data_dir()``): ``$MXNET_HOME`` if
    set, else ``data_dir_default()``; ``gluon.data.vision`` datasets read
    ``<data_dir>/datasets/<name>``."""
    import os

    return os.getenv("MXNET_HOME", data_dir_default())
