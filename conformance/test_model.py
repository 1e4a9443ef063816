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
