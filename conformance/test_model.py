"""The reference models reproduce the chapter's printed outputs and what MXNet 1.9.1
was observed to do (no framework needed)."""

import numpy as np
import pytest

from conformance import arch as A
from conformance import ndarray_model as NM
from conformance.autograd_model import AutogradModel, Program, Statement, Switches
from conformance.model import ModelError, World

MLP = A.Sequential(children=(A.Dense(256, activation="relu"), A.Dense(10)))
MLP_IN_UNITS = A.Sequential(children=(A.Dense(256, activation="relu", in_units=20),
                                      A.Dense(10, in_units=256)))


def test_chapter_tables_and_init_calls():
    world = World()
    net = world.build(MLP)
    assert net.block_repr() == (
        "Sequential(\n  (0): Dense(None -> 256, Activation(relu))\n  (1): Dense(None -> 10, linear)\n)")
    table = net.params_repr()
    assert table.splitlines()[0] == "sequential0_ ("
    assert "  Parameter dense0_weight (shape=(256, 0), dtype=float32)" in table
    assert net.initialize().calls == []
    assert net.data("dense0_weight") == "deferred"
    net.forward((2, 20))
    assert net.param_table()[0] == ("dense0_weight", (256, 20))
    assert net.param_table()[2] == ("dense1_weight", (10, 256))

    net = world.build(MLP)
    assert net.initialize("recording").calls == []
    assert net.forward((2, 20)).calls == [("dense2_weight", (256, 20)), ("dense3_weight", (10, 256))]
    assert net.forward((2, 20)).calls == []
    assert net.initialize("recording", force_reinit=True).calls == [
        ("dense2_weight", (256, 20)), ("dense3_weight", (10, 256))]

    net = world.build(MLP_IN_UNITS)
    assert net.initialize("recording").calls == [("dense4_weight", (256, 20)),
                                                 ("dense5_weight", (10, 256))]


def test_second_initialize_warns_per_initialized_parameter():
    net = World().build(MLP)
    net.initialize()
    warned = net.initialize().warnings
    assert warned == ["Parameter 'dense0_bias' is already initialized, ignoring. "
                      "Set force_reinit=True to re-initialize.",
                      "Parameter 'dense1_bias' is already initialized, ignoring. "
                      "Set force_reinit=True to re-initialize."]


def test_divergences_change_only_what_they_name():
    wrong = A.Sequential(children=(A.Dense(4), A.Dense(3, in_units=7)))
    gluon, kd = World().build(wrong), World(["atomic_first_pass"]).build(wrong)
    for net in (gluon, kd):
        net.initialize("recording")
    assert gluon.forward((2, 5)).calls == [("dense0_weight", (4, 5))]
    assert kd.forward((2, 5)).calls == []
    assert gluon.forward((2, 5)).error == kd.forward((2, 5)).error == "shape_mismatch"


def test_build_script_matches_the_architecture():
    lines = A.source_lines(A.Sequential(children=(A.Dense(2), A.Reuse(0)), scoped=True))
    assert lines == ["net = nn.Sequential()", "with net.name_scope():",
                     "    d0 = nn.Dense(2)", "    net.add(d0, d0)"]


# Observed in MXNet 1.9.1 (a fresh process): Conv2D(4, 2, strides=2, padding=1),
# Conv2DTranspose(3, 2, strides=2), MaxPool2D(), GlobalAvgPool2D(), Flatten(), Dense(2)
# on a (2, 2, 5, 5) input.
CONV_NET = A.Sequential(children=(
    A.Conv(2, 4, 2, strides=2, padding=1), A.Conv(2, 3, 2, strides=2, transpose=True),
    A.Pool(2), A.Pool(2, "avg", global_pool=True), A.Flatten(), A.Dense(2)))


def test_conv_net_names_shapes_and_reprs_before_and_after_the_first_pass():
    net = World().build(CONV_NET)
    assert net.param_table() == [
        ("conv0_weight", (4, 0, 2, 2)), ("conv0_bias", (4,)), ("conv1_weight", (0, 3, 2, 2)),
        ("conv1_bias", (3,)), ("dense0_weight", (2, 0)), ("dense0_bias", (2,))]
    lines = net.block_repr().splitlines()
    assert lines[1] == "  (0): Conv2D(None -> 4, kernel_size=(2, 2), stride=(2, 2), padding=(1, 1))"
    assert lines[2] == "  (1): Conv2DTranspose(3 -> 0, kernel_size=(2, 2), stride=(2, 2))"
    assert lines[3] == ("  (2): MaxPool2D(size=(2, 2), stride=(2, 2), padding=(0, 0), "
                        "ceil_mode=False, global_pool=False, pool_type=max, layout=NCHW)")
    assert lines[4] == ("  (3): GlobalAvgPool2D(size=(1, 1), stride=(1, 1), padding=(0, 0), "
                        "ceil_mode=True, global_pool=True, pool_type=avg, layout=NCHW)")
    assert lines[5] == "  (4): Flatten"
    assert "Parameter conv0_weight (shape=(4, 0, 2, 2), dtype=<class 'numpy.float32'>)" in \
        net.params_repr()
    assert net.initialize("recording").calls == []
    out = net.forward((2, 2, 5, 5))
    assert out.calls == [("conv0_weight", (4, 2, 2, 2)), ("conv1_weight", (4, 3, 2, 2)),
                         ("dense0_weight", (2, 3))]
    assert out.output_shape == (2, 2)
    assert net.block_repr().splitlines()[2] == (
        "  (1): Conv2DTranspose(3 -> 4, kernel_size=(2, 2), stride=(2, 2))")


def test_norm_layers_defaults_and_grad_req():
    net = World().build(A.Sequential(children=(
        A.Conv(3, 2, 2), A.Norm("batch"), A.Norm("instance"), A.Norm("layer"))))
    assert net.initialize("recording").calls == []
    assert net.forward((1, 2, 3, 3, 3)).calls == [("conv0_weight", (2, 2, 2, 2, 2))]
    values = {n: (p.shape, p.data) for n, p in net.params.items()}
    assert values["batchnorm0_gamma"] == ((2,), 1.0)
    assert values["batchnorm0_running_mean"] == ((2,), 0.0)
    assert values["batchnorm0_running_var"] == ((2,), 1.0)
    assert values["layernorm0_gamma"] == ((2,), 1.0)   # the last axis
    assert net.grad("batchnorm0_running_var") == "no_grad"
    assert net.grad("instancenorm0_gamma") == "no_grad"  # scale=False
    assert net.grad("batchnorm0_gamma") is None
    assert "BatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, use_global_stats=False, " \
           "in_channels=2)" in net.block_repr()


def test_embedding_and_recurrent_layers():
    net = World().build(A.Sequential(children=(
        A.Embedding(5, 3), A.Recurrent("lstm", 4), A.Recurrent("gru", 2, 2, True),
        A.Recurrent("rnn", 3, input_size=4))))
    assert net.param_table()[1:3] == [("lstm0_l0_i2h_weight", (16, 0)),
                                      ("lstm0_l0_h2h_weight", (16, 4))]
    assert net.block_repr().splitlines()[3] == "  (2): GRU(None -> 2, TNC, num_layers=2, bidirectional)"
    calls = net.initialize("recording").calls
    assert calls[:3] == [("embedding0_weight", (5, 3)), ("lstm0_l0_h2h_weight", (16, 4)),
                         ("gru0_l0_h2h_weight", (6, 2))]
    out = net.forward((3, 2))
    assert out.calls == [("lstm0_l0_i2h_weight", (16, 3)), ("gru0_l0_i2h_weight", (6, 4)),
                         ("gru0_r0_i2h_weight", (6, 4))]
    assert out.output_shape == (3, 2, 3)


def _shapes(net):
    return dict(net.param_table())


def test_a_contradicted_batchnorm_shape_fails_after_earlier_parameters_took_theirs():
    # Observed in MXNet 1.9.1: BatchNorm's shape function assigns gamma/beta/running_*
    # instead of checking them, so the symbolic inference of the hybridized graph
    # passes and Gluon's write-back of the inferred shapes stops at gamma.
    arch = A.Sequential(hybrid=True, children=(
        A.Activation("relu"), A.Activation("relu"), A.Dense(3),
        A.Sequential(hybrid=True, children=(
            A.Dense(1), A.Sequential(hybrid=True, children=(A.Dense(2), A.Norm("batch"))),
            A.Norm("layer")))))
    gluon, kd = World().build(arch), World(["atomic_first_pass"]).build(arch)
    for net in (gluon, kd):
        net.initialize("recording")
        net.hybridize()
        assert net.set_data("batchnorm0_gamma", (1,), 125.0).error is None
        out = net.forward((1, 1, 2))
        assert out.error == "shape_mismatch" and out.calls == []
    assert [_shapes(gluon)[n] for n in ("dense0_weight", "dense1_weight", "dense2_weight")] \
        == [(3, 2), (1, 3), (2, 1)]
    assert [_shapes(gluon)[n] for n in ("batchnorm0_gamma", "batchnorm0_beta",
                                        "layernorm0_gamma")] == [(1,), (0,), (0,)]
    assert gluon.data("dense0_weight") == "deferred"      # a shape, but not initialized
    assert _shapes(kd)["dense0_weight"] == (3, 0)          # the transaction: nothing changed


def test_a_contradicted_norm_parameter_later_in_its_block_after_earlier_ones_took_theirs():
    # Observed in MXNet 1.9.1, hybridized or not (a HybridBlock infers symbolically either
    # way): set_data((7,)) on beta; gamma takes (4,) before beta's write-back fails.
    for kind, prefix in (("batch", "batchnorm0"), ("instance", "instancenorm0")):
        for hybridize in (False, True):
            net = World().build(A.Sequential(children=(A.Dense(4, flatten=False),
                                                       A.Norm(kind))))
            net.initialize("recording")
            if hybridize:
                net.hybridize()
            assert net.set_data(prefix + "_beta", (7,), 1.0).error is None
            out = net.forward((1, 4, 3))
            assert out.error == "shape_mismatch"
            assert out.calls == [("dense0_weight", (4, 3))]   # the Dense before it ran
            assert _shapes(net)[prefix + "_gamma"] == (4,)
            assert _shapes(net)[prefix + "_beta"] == (7,)
            if kind == "batch":
                assert _shapes(net)[prefix + "_running_mean"] == (0,)


def test_a_contradicted_layernorm_or_conv_shape_changes_nothing():
    # LayerNorm's and Convolution's shape functions check: the inference fails whole.
    for norm in (A.Norm("layer"), A.Conv(1, 2, 1)):
        net = World().build(A.Sequential(hybrid=True, children=(A.Dense(4, flatten=False),
                                                                norm)))
        net.initialize("recording")
        net.hybridize()
        name = next(n for n, s in net.param_table() if 0 in s and not n.startswith("dense"))
        wrong = tuple(7 if d == 0 else d for d in _shapes(net)[name])
        assert net.set_data(name, wrong, 1.0).error is None
        assert net.forward((1, 4, 3)).error == "shape_mismatch"
        assert _shapes(net)["dense0_weight"] == (4, 0)


def test_deepcopy_of_a_hybridized_net_that_ran():
    # Observed in MXNet 1.9.1: a CachedOp exists once a hybridized block was called with
    # its parameters ready (even if the call then fails); deepcopy raises until
    # hybridize() is called again. keras_defer copies it (divergence deepcopy_compiled).
    arch = A.Sequential(children=(A.Dense(2), A.Dense(1)))
    gluon, kd = World().build(arch), World(["deepcopy_compiled"]).build(arch)
    for net in (gluon, kd):
        net.initialize("recording")
        net.forward((1, 3))
        assert net.deepcopy()[0].error is None      # run, but not hybridized
        net.hybridize()
        assert net.deepcopy()[0].error is None      # hybridized, not run since
        net.forward((1, 3))
    assert gluon.deepcopy() [0].error == "not_copyable"
    assert kd.deepcopy()[0].error is None
    gluon.hybridize()
    out, twin = gluon.deepcopy()
    assert out.error is None and twin.param_table() == gluon.param_table()

    # a block whose parameters are known builds its CachedOp before failing on the input
    net = World().build(A.Sequential(children=(A.Dense(2, in_units=5), A.Dense(1))))
    net.initialize("recording")
    net.hybridize()
    assert net.forward((1, 3)).error == "shape_mismatch"
    assert net.deepcopy()[0].error == "not_copyable"
    # an uninitialized one fails before it
    net = World().build(A.Sequential(hybrid=True, children=(A.Dense(2),)))
    net.hybridize()
    assert net.forward((1, 3)).error == "not_initialized"
    assert net.deepcopy()[0].error is None


def test_an_initialized_batchnorm_of_the_wrong_size_runs_on_in_gluon():
    # Observed in MXNet 1.9.1: BatchNorm(in_channels=3) on 2 channels computes (the kernel
    # reads the first entries); InstanceNorm and LayerNorm raise. keras_defer raises for
    # all three (divergence batchnorm_checks_shapes).
    for kind, gluon_error in (("batch", None), ("instance", "shape_mismatch"),
                              ("layer", "shape_mismatch")):
        shape = (2, 2, 3) if kind == "layer" else (2, 3, 2)   # the other axis contradicts
        arch = A.Sequential(children=(A.Norm(kind, in_channels=3),))
        gluon, kd = World().build(arch), World(["batchnorm_checks_shapes"]).build(arch)
        for net in (gluon, kd):
            net.initialize("recording")
        wrong = (2, 2, 2)
        assert gluon.forward(wrong).error == gluon_error
        assert kd.forward(wrong).error == "shape_mismatch"
        assert gluon.forward(shape).error is None


# -- NDArray (conformance/ndarray_model.py) ------------------------------------------------
# Each expectation below was observed in MXNet 1.9.1 (a fresh process).

@pytest.mark.parametrize("shape, codes, reverse, want", [
    ((2, 3, 4), (0, -1), False, (2, 12)),
    ((2, 3, 4), (-2,), False, (2, 3, 4)),
    ((2, 3, 4), (-3, 0), False, (6, 4)),
    ((2, 3, 4), (0, -3), False, (2, 12)),
    ((6, 4), (-4, 2, 3, 0), False, (2, 3, 4)),
    ((6, 4), (-4, -1, 3, -2), False, (2, 3, 4)),
    ((2, 3, 4), (4, 0, -1), False, (4, 3, 2)),
    ((2, 3, 4), (-1,), False, (24,)),
    ((2, 3, 4), (2, -2), False, (2, 3, 4)),
    ((2, 3, 4, 5), (-3, -3), False, (6, 20)),
    ((2, 3, 4), (0, -4, -1, 1, 0), False, (2, 3, 1, 4)),
    ((1, 3, 2), (-3, -4, 1, 2), False, (3, 1, 2)),
    ((1, 3, 2), (-4, 1, 1, 0, 0), False, (1, 1, 3, 2)),
    ((2, 3, 4), (-1, 0), True, (6, 4)),
])
def test_reshape_codes(shape, codes, reverse, want):
    assert NM.reshape_target(shape, codes, reverse) == want


@pytest.mark.parametrize("shape, codes", [
    ((1, 6), (-4, 1, -1, -3)),        # -3 with one input side left
    ((1, 3, 2), (-4, 1, 1, -1, 0)),   # a -1 after a -4: MXNet infers at the code's index
])
def test_reshape_codes_mxnet_refuses(shape, codes):
    with pytest.raises(ModelError):
        NM.reshape_target(shape, codes)


@pytest.mark.parametrize("key, kind, shape", [
    (1, "view", (3,)),
    ((1,), "view", (3,)),
    ((0, -1), "view", (1,)),
    ((-1, slice(0, 2)), "view", (2,)),
    ((slice(None), 1), "copy", (2,)),
    (slice(None, None, 2), "view", (1, 3)),     # one row: contiguous
    (slice(None, None, -1), "copy", (2, 3)),
    ((slice(1, 3), slice(None, None, -1)), "copy", (1, 3)),
    (slice(-2, None), "view", (2, 3)),
    (slice(None), "self", (2, 3)),
    (slice(None, None, 1), "self", (2, 3)),
])
def test_basic_indexing_shapes_and_views(key, kind, shape):
    assert NM.basic_index((2, 3), key) == (kind, shape)


def test_an_integer_index_of_a_vector_and_a_full_integer_key_give_shape_1():
    model = NM.ArrayModel()
    v = model.array([1, 2, 3])
    assert model.getitem(v, 1).shape == (1,)
    x = model.array([[1, 2, 3], [4, 5, 6]])
    assert model.getitem(x, (1, 1)).shape == (1,)
    assert model.getitem(x, (1, 1)).values().tolist() == [5.0]


def test_views_write_through_and_copies_do_not():
    model = NM.ArrayModel()
    x = model.array([[1, 2, 3], [4, 5, 6]])
    row, column = model.getitem(x, 0), model.getitem(x, (slice(None), 1))
    model.setitem(row, slice(None), 9)
    assert x.values().tolist() == [[9, 9, 9], [4, 5, 6]]
    model.setitem(column, slice(None), 0)
    assert x.values().tolist() == [[9, 9, 9], [4, 5, 6]]
    model.setitem(model.reshape(x, (3, 2)), slice(None), 1)
    assert x.values().tolist() == [[1, 1, 1], [1, 1, 1]]
    part = model.getitem(x, slice(0, 1))
    model.augmented(part, "+", 5)
    assert x.values().tolist() == [[6, 6, 6], [1, 1, 1]]
    twin = model.astype(x, "int32")
    model.setitem(twin, slice(None), 0)
    assert x.values().tolist() == [[6, 6, 6], [1, 1, 1]]


def test_setitem_broadcasts_to_the_selection_without_its_integer_axes():
    model = NM.ArrayModel()
    z = model.full((2, 3), 0)
    model.setitem(z, 1, model.array([7, 8, 9]))
    model.setitem(z, (1, 2), model.array([5]))
    model.setitem(z, (slice(None), 1), model.array([3, 4]))
    assert z.values().tolist() == [[0, 3, 0], [7, 4, 5]]
    with pytest.raises(ModelError):
        model.setitem(z, (slice(None), 1), model.array([[3], [4]]))


def test_printing():
    model = NM.ArrayModel()
    assert model.repr(model.array([[1, 2, 3], [4, 5, 6]])) == \
        "\n[[1. 2. 3.]\n [4. 5. 6.]]\n<NDArray 2x3 @cpu(0)>"
    assert model.repr(model.array([[1, 2], [3, 4]], "int32")) == \
        "\n[[1 2]\n [3 4]]\n<NDArray 2x2 @cpu(0)>"
    assert model.repr(model.array([1.5, -2.25])) == "\n[ 1.5  -2.25]\n<NDArray 2 @cpu(0)>"
    assert model.repr(model.array([[[1]]])) == "\n[[[1.]]]\n<NDArray 1x1x1 @cpu(0)>"


def test_dtypes_reductions_and_comparisons():
    model = NM.ArrayModel()
    assert model.array(np.array([1, 2], dtype="int64")).dtype == "float32"
    assert model.array([1, 2], "int64").dtype == "int64"
    x = model.array([[1, 2, 3], [4, 5, 6]])
    assert model.reduce(x, "sum").shape == (1,)
    assert model.reduce(x, "sum", axis=(0, 1)).shape == (1,)
    assert model.reduce(x, "sum", axis=1, keepdims=True).shape == (2, 1)
    assert model.reduce(x, "max", axis=-1).shape == (2,)
    assert model.reduce(x, "mean", axis=(0, 1), keepdims=True).shape == (1, 1)
    xi = model.array([[1, 2], [3, 4]], "int32")
    assert model.reduce(xi, "sum").values().tolist() == [10]
    assert model.reduce(xi, "sum").dtype == "int32"
    eq = model.compare(x, ">=", model.array([2, 2, 2]))
    assert eq.dtype == "float32" and eq.values().tolist() == [[0, 1, 1], [1, 1, 1]]
    assert model.compare(x, ">", 2, reflected=True).values().tolist() == [[1, 0, 0], [0, 0, 0]]
    assert model.compare(model.array([1, 2], "int64"), "==", 2).dtype == "int64"
    assert model.arith(x, "+", model.array([10, 20, 30])).values().tolist() == \
        [[11, 22, 33], [14, 25, 36]]
    assert model.arith(x, "-", 1, reflected=True).values().tolist() == \
        [[0, -1, -2], [-3, -4, -5]]
    with pytest.raises(ModelError):
        model.arith(xi, "+", model.array([1, 2]))   # no type promotion: MXNetError


def test_numpy_operands_and_32_bit_jax_are_divergences():
    operand = np.ones((2, 3))
    x = [[1, 2, 3], [4, 5, 6]]
    mxnet, kd = NM.ArrayModel(), NM.ArrayModel(["numpy_operands"])
    with pytest.raises(ModelError) as caught:
        mxnet.arith(mxnet.array(x), "+", operand)
    assert caught.value.kind == "type_error"
    assert kd.arith(kd.array(x), "+", operand).values().tolist() == [[2, 3, 4], [5, 6, 7]]
    jax = NM.ArrayModel(["jax_32bit"])
    assert jax.array([1], "float64").dtype == "float32"
    assert jax.full((1,), 1, "int64").dtype == "int32"


# -- autograd (conformance/autograd_model.py) -------------------------------------------
def _program(*statements, constants=()):
    return Program(tuple(Statement(*s) if isinstance(s, tuple) else s for s in statements),
                   tuple(constants))


def test_gradients_heads_and_accumulation():
    model = AutogradModel()
    model.attach("x0", [[1, 2], [3, 4]], "write")
    square = _program(("t0", "multiply", ("x0", "x0")))
    assert model.backward(square).grads["x0"].tolist() == [[2, 4], [6, 8]]
    assert model.backward(square, np.array([[1, 0], [2, 3]])).grads["x0"].tolist() == \
        [[2, 0], [12, 24]]
    assert model.variables["x0"].grad.tolist() == [[2, 0], [12, 24]]   # 'write'
    model.attach("x1", [1, 2, 3], "add")
    cubes = _program(("t0", "multiply", ("x1", "x1")), ("t1", "sum", ("t0",)))
    for k in (1, 2, 3):
        model.backward(cubes)
        assert model.variables["x1"].grad.tolist() == [2 * k, 4 * k, 6 * k]
    assert model.variables["x0"].grad.tolist() == [[2, 0], [12, 24]]   # not reached: kept


def test_dot_and_broadcast_gradients():
    model = AutogradModel()
    model.attach("x0", [[1, 2], [3, 4]], "write")
    model.attach("x1", [[1], [2]], "write")
    out = model.backward(_program(("t0", "dot", ("x0", "x1"))))
    assert out.grads["x0"].tolist() == [[1, 2], [1, 2]]
    assert out.grads["x1"].tolist() == [[4], [6]]
    model.attach("x2", [1, 2, 3], "write")
    model.attach("x3", [[1, 2, 3], [4, 5, 6]], "write")
    model.attach("x4", [2], "write")
    out = model.backward(_program(("t0", "multiply", ("x3", "x2")),
                                  ("t1", "multiply", ("t0", "x4")), ("t2", "sum", ("t1",))))
    assert out.grads["x2"].tolist() == [10, 14, 18]
    assert out.grads["x4"].tolist() == [46]


def test_pause_null_and_cleared_graphs():
    model = AutogradModel()
    model.attach("x0", [1, 2], "write")
    paused = _program(("t0", "multiply", ("x0", "x0")),
                      Statement("t1", "multiply", ("x0", 3), paused=True),
                      ("t2", "multiply", ("t0", "t1")), ("t3", "sum", ("t2",)))
    assert model.backward(paused).grads["x0"].tolist() == [6, 24]
    model.attach("n", [1, 2], "null")
    assert model.backward(_program(("t0", "tanh", ("n",)))).error == "no_inputs"
    # a backward through a 'null' array clears it from the graph: it reads x.grad None
    # and an operation on it alone is no longer recorded
    model.backward(_program(("t0", "multiply", ("n", "x0")), ("t1", "sum", ("t0",))))
    assert model.grad_of("n") is None
    assert model.backward(_program(("t0", "tanh", ("n",)))).error == "not_in_graph"
    # until a recorded operation reads it next to an array in the graph
    again = _program(("t0", "add", ("x0", "n")), ("t1", "tanh", ("n",)))
    assert model.backward(again).error == "no_inputs"
    only_paused = _program(Statement("t0", "relu", ("x0",), paused=True),
                           ("t1", "add", ("t0", -1)))
    assert model.backward(only_paused).error == "not_in_graph"


def test_switches_through_nested_scopes():
    s = Switches()
    observed = [  # (scopes entered, outermost first) -> (is_recording, is_training)
        ([("record", None)], (True, True)),
        ([("record", None), ("pause", None)], (False, False)),
        ([("record", None), ("pause", True)], (False, True)),
        ([("record", None), ("predict_mode", None)], (True, False)),
        ([("record", False)], (True, False)),
        ([("train_mode", None)], (False, True)),
        ([("predict_mode", None)], (False, False)),
        ([("pause", None)], (False, False)),
        ([("record", False), ("train_mode", None)], (True, True)),
        ([("record", False), ("record", None)], (True, True)),
    ]
    for scopes, want in observed:
        for kind, train_mode in scopes:
            s.enter(kind, train_mode)
        assert s.state() == want, scopes
        for _ in scopes:
            s.exit()
        assert s.state() == (False, False)
    with pytest.raises(ModelError):
        Switches(can_record=False).enter("record")


# -- losses (loss_model): values MXNet 1.9.1 printed ----------------------------------------------
from conformance import loss_model as LM  # noqa: E402
from conformance import optimizer_model as OM  # noqa: E402

LOSS_CASES = [  # (name, kwargs, inputs, sample_weight/pos_weight, MXNet 1.9.1's output)
    ("SigmoidBinaryCrossEntropyLoss", {"from_sigmoid": True},
     ([[1e-7, 0.9999999, 0.5]], [[1., 0., 1.]]), {}, [10.917869567871094]),
    ("SigmoidBinaryCrossEntropyLoss", {}, ([[30., -30., 0.5]], [[0., 1., 1.]]),
     {"sample_weight": [[1., 1., 1.]], "pos_weight": [2., 3., 0.5]}, [40.07901382446289]),
    ("SoftmaxCrossEntropyLoss", {}, ([[30., -30., 0.], [1., 2., 3.]], [0, 2]), {},
     [0.0, 0.40760383009910583]),   # MXNet: -1.43e-6 for the first (LOG_SOFTMAX_ATOL)
    ("SoftmaxCrossEntropyLoss", {"axis": 1, "sparse_label": False},
     ([[1., 2.], [3., 5.]], [[0.25, 0.75], [1., 0.]]), {}, [0.5632598400115967, 2.126924991607666]),
    ("KLDivLoss", {"from_logits": False}, ([[1., 2., 3.]], [[0., 0.5, 0.5]]), {},
     [0.21445666253566742]),
    ("PoissonNLLLoss", {"compute_full": True}, ([[0.5, 1.], [2., 0.]], [[0., 2.], [3., 1.]]), {},
     [float("nan")]),
    ("PoissonNLLLoss", {"compute_full": True}, ([[0.5, 1.], [2., 0.]], [[2., 2.], [3., 1.]]), {},
     [1.7059383392333984]),
    ("L2Loss", {"weight": 2., "batch_axis": 1}, ([[1., 2.], [3., 4.], [5., 6.]],
                                                 [[0., 0.], [0., 1.], [1., 1.]]), {},
     [8.666666984558105, 12.666666984558105]),
    ("HuberLoss", {"rho": 0.5}, ([[0.2, 1., -3.]], [[0., 0., 0.]]), {}, [1.1799999475479126]),
    ("CosineEmbeddingLoss", {"margin": 0.2}, ([[1., 0.], [1., 1.]], [[1., 1.], [-1., 1.]],
                                              [1., -1.]), {}, [[0.2928932309150696], [0.0]]),
    ("TripletLoss", {"margin": 0.5}, ([[1., 2.]], [[1., 1.]], [[0., 0.]]), {}, [0.0]),
    ("LogisticLoss", {"label_format": "binary"}, ([[2., -1.]], [[1., 0.]]), {},
     [0.22009491920471191]),
]


@pytest.mark.parametrize("name, kwargs, inputs, extra, want", LOSS_CASES,
                         ids=[c[0] + str(i) for i, c in enumerate(LOSS_CASES)])
def test_loss_model_matches_mxnet(name, kwargs, inputs, extra, want):
    spec = LM.LossSpec(name, kwargs, tuple(np.array(a, np.float32) for a in inputs),
                       {k: np.array(v, np.float32) for k, v in extra.items()})
    got = LM.forward(spec)
    want = np.array(want)
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.allclose(got[ok], want[ok], rtol=1e-5, atol=2e-6), (got, want)


def test_loss_reprs_and_gradient_kinks():
    assert LM.repr_of(LM.LossSpec("L2Loss")) == "L2Loss(batch_axis=0, w=1.0)"
    assert LM.repr_of(LM.LossSpec("L1Loss", {"weight": 2})) == "L1Loss(batch_axis=0, w=2)"
    # MXNet 1.9.1: d/dx LogisticLoss(binary)([[0, 1]], [[1, 1]]).sum() is [[-0.5, -0.1345]]:
    # at exactly 0 its relu/abs subgradients give -label (/2), not sigmoid(0) - label;
    # the model leaves such an element out of the comparison
    spec = LM.LossSpec("LogisticLoss", {"label_format": "binary"},
                       (np.array([[0., 1.]], np.float32), np.array([[1., 1.]], np.float32)))
    grad, smooth = LM.gradient(spec)
    assert smooth.tolist() == [[False, True]]
    assert abs(grad[0, 1] - -0.13447071611881256) < 1e-6


# -- optimizers and the Trainer (optimizer_model) ---------------------------------------------------
# Parameters a (lr_mult 2) = [0.5, -0.25] and b (wd_mult 0) = [1.0, 0.75], three steps of
# batch size 2 with gradients g and reversed(g) for g in GRADS: MXNet 1.9.1's weights
GRADS = ([1.5, -0.5], [0.25, 1.0], [-1.0, 2.0])
OPTIMIZER_CASES = [
    ("sgd", {"momentum": 0.9, "wd": 0.1, "clip_gradient": 0.5}, None,
     [0.4726305603981018, -0.26266777515411377], [0.992275059223175, 0.7390750050544739], 0.01),
    ("nag", {"momentum": 0.9, "wd": 0.1}, None,
     [0.4530702829360962, -0.29393503069877625], [0.9760475754737854, 0.7303199768066406], 0.01),
    ("signum", {"wd_lh": 0.01, "wd": 0.1}, None,
     [0.4397120773792267, -0.26985403895378113], [0.9896990060806274, 0.7197780013084412], 0.01),
    ("adam", {"wd": 0.1}, None,
     [0.49588730931282043, -0.24996477365493774], [0.9999382495880127, 0.7480621337890625], 0.001),
    ("adagrad", {"wd": 0.1}, None,
     [0.48479336500167847, -0.26389312744140625], [0.9923269748687744, 0.7438504099845886], 0.01),
    ("rmsprop", {"centered": True, "clip_weights": 0.8}, None,
     [0.4834536910057068, -0.24890322983264923], [0.7971081733703613, 0.7417268753051758], 0.001),
    ("adadelta", {"wd": 0.1}, None,
     [0.36244887113571167, -0.20228278636932373], [0.9805886745452881, 0.7458043694496155], 0.01),
    ("adamax", {}, None,
     [0.4933182895183563, -0.24899922311306], [1.0005003213882446, 0.7466592192649841], 0.002),
    ("nadam", {}, None,
     [0.4984942376613617, -0.25134706497192383], [0.9990589022636414, 0.7495680451393127], 0.001),
    ("ftml", {"wd": 0.1}, None,
     [0.48481428623199463, -0.26069897413253784], [0.9943848252296448, 0.743402898311615], 0.01),
    ("lamb", {"wd": 0.1, "lower_bound": 0.5}, None,
     [0.4978424906730652, -0.2507079243659973], [0.9991353154182434, 0.7477126717567444], 0.001),
    ("sgd", {}, ("factor", dict(step=1, factor=0.5, base_lr=0.1)),
     [0.36250001192092896, -0.30000001192092896], [0.9750000238418579, 0.6812499761581421], 0.025),
    ("adam", {}, ("cosine", dict(max_update=4, base_lr=0.1, final_lr=0.01, warmup_steps=1,
                                 warmup_begin_lr=0.01)),   # Adam's own 0.001 overrides base_lr
     [0.16853691637516022, -0.1519666612148285], [1.0490165948867798, 0.5842685103416443],
     0.032500000000000015),
]


@pytest.mark.parametrize("name, params, scheduler, want_a, want_b, want_lr", OPTIMIZER_CASES,
                         ids=[c[0] + str(i) for i, c in enumerate(OPTIMIZER_CASES)])
def test_optimizer_model_matches_mxnet(name, params, scheduler, want_a, want_b, want_lr):
    a = OM.ParamModel("a", [0.5, -0.25], lr_mult=2.0)
    b = OM.ParamModel("b", [1.0, 0.75], wd_mult=0.0)
    sched = OM.Scheduler(scheduler[0], **scheduler[1]) if scheduler else None
    trainer = OM.TrainerModel([a, b], name, params, sched)
    for g in GRADS:
        trainer.backward({"a": np.array(g), "b": np.array(g[::-1])})
        trainer.step(2)
    assert np.allclose(a.w, want_a, rtol=1e-5, atol=1e-6), (a.w, want_a)
    assert np.allclose(b.w, want_b, rtol=1e-5, atol=1e-6), (b.w, want_b)
    assert abs(trainer.learning_rate - want_lr) < 1e-9


def test_nag_momentum_reads_the_updated_weight():
    # MXNet 1.9.1 nd.nag_mom_update(w=[1], g=[0.5], mom=[0], out=w, lr=0.1, wd=0.1,
    # momentum=0.9) three times: w 0.886, 0.72648937, 0.52839255; mom -0.05886 (= -lr *
    # (g + wd * 0.886): the new weight), -0.11023889, -0.15449893
    opt = OM.Optimizer("nag", {"momentum": 0.9, "wd": 0.1, "learning_rate": 0.1})
    w = np.array([1.0], np.float32)
    seen = []
    for _ in range(3):
        opt.update([(0, w, np.array([0.5], np.float32), 1.0, 1.0)])
        seen.append((float(w[0]), float(opt.states[0][0][0])))
    assert np.allclose(seen, [(0.886, -0.05886), (0.72648937, -0.11023889),
                              (0.52839255, -0.15449893)], rtol=1e-6)


def test_a_refused_step_consumes_the_earlier_fresh_flags():
    # MXNet 1.9.1: a fresh, b stale; step(1) raises naming b; the retry
    # step(1, ignore_stale_grad=True) leaves a at [1, 1] (its flag was consumed)
    a, b = OM.ParamModel("a", [1., 1.]), OM.ParamModel("b", [1., 1.])
    trainer = OM.TrainerModel([a, b], "sgd", {"learning_rate": 0.1})
    trainer.backward({"a": np.array([1., 1.])})
    with pytest.raises(ModelError) as info:
        trainer.step(1)
    assert info.value.kind == "stale_grad" and "Parameter `b` on context cpu(0)" in info.value.detail
    assert trainer.step(1, ignore_stale_grad=True) == []
    assert a.w.tolist() == [1., 1.]


def test_scheduler_and_learning_rate_rules():
    # an optimizer's own default learning_rate overrides the scheduler's base_lr
    sched = OM.Scheduler("factor", step=1, factor=0.5, base_lr=0.1)
    assert OM.Optimizer("adamax", {}, sched).learning_rate == 0.002
    opt = OM.Optimizer("sgd", {}, OM.Scheduler("factor", step=1, factor=0.5, base_lr=0.1))
    assert opt.learning_rate == 0.1
    with pytest.raises(ModelError) as info:
        opt.set_learning_rate(0.5)
    assert info.value.kind == "scheduler_defined"
    # Poly and Cosine keep the base_lr they were built with
    poly = OM.Scheduler("poly", max_update=4, base_lr=0.1, pwr=1)
    OM.Optimizer("adam", {}, poly)
    assert poly.base_lr == 0.001 and abs(poly(2) - 0.05) < 1e-12


def test_fused_rnn_directions_share_columns():
    # Observed in MXNet 1.9.1 (hybridized or not): a bidirectional layer's fused operator
    # checks only the total of its flattened parameters, so set_data on one direction's
    # layer-0 input weight gives the other what is left of 2 * C columns.
    def net(divergences=()):
        n = World(divergences).build(A.Sequential(hybrid=True, children=(
            A.Dense(3, flatten=False), A.Recurrent("rnn", 2, bidirectional=True, layout="NTC"))))
        n.initialize("recording")
        return n
    gluon = net()
    assert gluon.set_data("rnn0_r0_i2h_weight", (2, 1), 5.0).error is None
    out = gluon.forward((2, 1, 3))
    assert out.error is None and out.output_shape == (2, 1, 4)
    assert _shapes(gluon)["rnn0_l0_i2h_weight"] == (2, 5)
    assert ("rnn0_l0_i2h_weight", (2, 5)) in out.calls
    assert gluon.forward((4, 1, 3)).error is None           # 5 + 1 == 2 * 3: runs again
    assert gluon.forward((4, 1, 2)).error == "shape_mismatch"
    # nothing left: l0 stays (2, 0) and its initialization asserts; the Dense before it ran
    for hybridize in (False, True):
        gluon = net()
        if hybridize:
            gluon.hybridize()
        gluon.set_data("rnn0_r0_i2h_weight", (2, 6), 5.0)
        out = gluon.forward((2, 1, 3))
        assert out.error == "shape_mismatch" and out.calls == [("dense0_weight", (3, 3))]
        assert _shapes(gluon)["rnn0_l0_i2h_weight"] == (2, 0)
        assert gluon.data("rnn0_r0_i2h_weight") == "deferred"
    # less than nothing: the inference fails whole (hybridized: the Dense waits too)
    gluon = net()
    gluon.hybridize()
    gluon.set_data("rnn0_r0_i2h_weight", (2, 7), 5.0)
    out = gluon.forward((2, 1, 3))
    assert out.error == "shape_mismatch" and out.calls == []
    # keras_defer's declared divergence: each direction checked on its own, atomically
    kd = net(["rnn_checks_direction_shapes", "atomic_first_pass"])
    kd.set_data("rnn0_r0_i2h_weight", (2, 1), 5.0)
    assert kd.forward((2, 1, 3)).error == "shape_mismatch"
    assert _shapes(kd)["rnn0_l0_i2h_weight"] == (2, 0)
