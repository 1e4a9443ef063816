"""The canary for a Keras upgrade: everything private that keras_defer touches (listed in
``keras_compat``) still exists and still means what we rely on. Each failure names the
attribute; fix ``keras_compat`` (the only module touching them), not its callers."""

import importlib

import keras
import numpy as np
import pytest

from keras_defer import backend, keras_compat
from keras_defer.gluon import nn

BACKEND = keras.backend.backend()


def _resolve(module, dotted):
    obj = importlib.import_module(module)
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("module, attribute, only", keras_compat.RELIED_ON,
                         ids=["%s:%s" % entry[:2] for entry in keras_compat.RELIED_ON])
def test_every_private_attribute_relied_on_exists(module, attribute, only):
    if only is not None and only != BACKEND:
        pytest.skip("used on the %s backend only" % only)
    try:
        _resolve(module, attribute)
    except (ImportError, AttributeError) as exc:
        pytest.fail("Keras no longer has %s.%s (%s): keras_compat relies on it"
                    % (module, attribute, exc))


class _Recorder(keras.layers.Layer):
    """Records Keras's global state as its ``call`` sees it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        self.seen.append({key: getattr(keras_compat.GLOBAL_STATE, key, None)
                          for key in keras_compat.SCOPE_KEYS})
        return x * self.kernel


def test_a_layer_instance_carries_the_state_relied_on():
    layer = _Recorder()
    layer(np.ones((2, 3), "float32"))
    missing = [name for name in keras_compat.LAYER_STATE if not hasattr(layer, name)]
    assert not missing, "Keras layers no longer carry %s" % missing
    assert layer._called is True
    assert isinstance(layer._tracker.locked, bool)
    assert any(v is layer.kernel for v in layer._trainable_variables)
    assert isinstance(keras_compat.auto_config(layer), dict)
    missing = sorted(keras_compat.BUILD_BOOKKEEPING - set(vars(layer)))
    assert not missing, "Keras's build/call no longer set %s" % missing


def test_auto_config_holds_plain_constructor_arguments():
    assert keras_compat.auto_config(nn.Dense(3, in_units=2))["units"] == 3


@pytest.mark.parametrize("cls", [keras.layers.Dense, nn.Dense])
def test_layer_new_wraps_build_and_quantize_per_instance(cls):
    layer = cls.__new__(cls)
    wrappers = keras_compat.instance_wrappers(layer)
    assert set(wrappers) == set(keras_compat.INSTANCE_WRAPPERS), (
        "Layer.__new__ no longer wraps %s per instance" % keras_compat.INSTANCE_WRAPPERS)
    assert wrappers["build"].__wrapped__.__func__ is cls.build


def test_global_state_is_read_by_attribute():
    with keras.StatelessScope() as scope:
        assert getattr(keras_compat.GLOBAL_STATE, "stateless_scope", None) is scope
        assert keras_compat.scopes_active(("stateless_scope",))
        with keras_compat.suspended_scopes(("stateless_scope",)):
            assert not keras_compat.scopes_active(("stateless_scope",))
        assert getattr(keras_compat.GLOBAL_STATE, "stateless_scope", None) is scope


def test_each_scope_key_is_the_one_keras_sets():
    layer = _Recorder()
    layer(np.ones((2, 3), "float32"))
    assert layer.seen[-1]["current_call_ctx"] is not None
    assert layer.seen[-1]["current_call_ctx"].training is None

    layer(keras.Input((3,)))
    assert layer.seen[-1]["symbolic_scope"] is not None
    assert layer.seen[-1]["stateless_scope"] is not None

    mixed = _Recorder(dtype="mixed_float16")
    mixed(np.ones((2, 3), "float32"))
    assert mixed.seen[-1]["autocast_scope"] is not None

    from keras.src.distribution import distribution_lib

    assert distribution_lib.GLOBAL_ATTRIBUTE_NAME == "distribution"
    if BACKEND == "torch":
        with keras.device("cpu"):
            assert getattr(keras_compat.GLOBAL_STATE, "torch_device", None) is not None


def test_training_context_reaches_the_children():
    seen = []

    class Child(keras.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Parent(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.child = Child()

        def call(self, x, training=None):
            with keras_compat.training_context(self, training):
                return self.child(x)

    parent = Parent()
    parent(np.ones((1, 2), "float32"), training=True)
    assert seen[-1] is True
    parent.call(np.ones((1, 2), "float32"), training=True)  # no call context: made here
    assert seen[-1] is True
    parent.call(np.ones((1, 2), "float32"))
    assert seen[-1] is None
    assert keras_compat.context_training() is None


def test_path_scope_names_variables_in_keras_paths():
    with keras_compat.path_scope("outer"):
        variable = keras.Variable(np.zeros(2, "float32"), name="weight")
    assert variable.path == "outer/weight"


def test_tracking_a_variable_on_a_locked_layer():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    assert keras_compat.state_locked(layer)
    extra = keras.Variable(np.zeros(2, "float32"), name="extra")
    keras_compat.track_new_variable([layer], extra)
    assert any(v is extra for v in layer.weights)
    assert keras_compat.state_locked(layer)
    keras_compat.untrack_variable([layer], extra)
    assert not any(v is extra for v in layer.weights)


@pytest.mark.skipif(BACKEND != "torch", reason="layers are torch modules on PyTorch only")
def test_a_blocks_module_call_reaches_keras():
    assert nn.Dense(2)._call_impl.__func__ is backend.module_call


def test_keras_sets_no_public_instance_attribute_beyond_those_listed():
    """``keras_compat.KERAS_INSTANCE_ATTRIBUTES`` (with the class's names, what a Gluon
    attribute of the same name must not hide from Keras: ``keras_defer.attributes``)."""

    class Probe(keras.Model):
        def call(self, x):
            return x

    model = Probe()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 3), "float32"), verbose=0)
    layer = keras.layers.Layer()
    public = {name for obj in (model, layer) for name in vars(obj) if not name.startswith("_")}
    missing = sorted(public - keras_compat.KERAS_INSTANCE_ATTRIBUTES)
    assert not missing, "Keras now sets %s on instances: add them to keras_compat" % missing
    assert {"output", "weights", "losses", "dtype", "metrics", "built"} <= \
        keras_compat.keras_names()
