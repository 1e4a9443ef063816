"""``mx.name``: MXNet's ``NameManager`` and ``Prefix`` (see ``keras_defer.symbol.naming``)."""

from keras_defer.symbol.naming import NameManager, Prefix, current

__all__ = ["NameManager", "Prefix", "current"]
