"""Adapters: one small class per implementation under test (see base.Adapter).

`load(name)` imports the adapter module only; the framework itself is imported lazily
by the adapter on first use, so the kit's core runs in any environment.
"""

import importlib

IMPLEMENTATIONS = {
    "keras_defer": "conformance.adapters.keras_defer:KerasDeferAdapter",
    "mxnet": "conformance.adapters.mxnet:MXNetAdapter",
}


def load(name):
    """An adapter instance by implementation name, or by 'package.module:Class'."""
    target = IMPLEMENTATIONS.get(name, name)
    if ":" not in target:
        raise ValueError("unknown implementation %r (known: %s, or module:Class)"
                         % (name, ", ".join(sorted(IMPLEMENTATIONS))))
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)()
