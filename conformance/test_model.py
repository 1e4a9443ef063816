"""The reference model reproduces the chapter's printed outputs (no framework needed)."""

from conformance import arch as A
from conformance.model import World

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
