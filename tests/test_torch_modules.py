"""On PyTorch a block is a ``torch.nn.Module`` whose parameters are its Keras variables'
tensors: ``parameters()`` / ``named_parameters()`` of a block and of each of its
ancestors list every variable that exists, once, whatever made it (``initialize`` with
known shapes, the first pass, ``load_parameters``, ``cast``, parameter sharing,
``initialize(force_reinit=True)``, ``set_data``, ``copy.deepcopy``); ``torch.optim`` over
``net.parameters()`` trains all of them and ``state_dict()`` round-trips.

Issue 14: after a deferred net's first pass its parents listed only the biases (Keras
fills a layer's ``_torch_params`` once, with what exists then), so ``torch.optim`` and
``DistributedDataParallel`` silently left the weights alone.
"""

import copy

import keras
import numpy as np
import pytest

if keras.backend.backend() != "torch":
    pytest.skip("torch.nn.Module parameters exist on Keras's PyTorch backend only",
                allow_module_level=True)

import torch  # noqa: E402

from keras_defer import init, keras_compat, nd  # noqa: E402
from keras_defer.gluon import nn  # noqa: E402


# -- what "complete" means ------------------------------------------------------------
def _variable_tensors(block):
    """``{id: name}`` of the tensors of every variable ``block`` and its descendants
    hold (a shared parameter once)."""
    return {id(p.variable.value): name for name, p in block.collect_params().items()
            if p.variable is not None}


def _assert_torch_parameters_complete(net):
    """``parameters()`` and ``named_parameters()`` of ``net`` and of every block in it
    are exactly the variables' tensors of that block's subtree, each listed once."""
    for block in net._iter_blocks():
        expected = _variable_tensors(block)
        listed = [id(t) for t in block.parameters()]
        named = [id(t) for _, t in block.named_parameters()]
        assert len(listed) == len(set(listed)), "%s lists a tensor twice" % block.name
        assert listed == named
        missing = sorted(expected[i] for i in set(expected) - set(listed))
        assert not missing, "%s.parameters() misses %s" % (block.name, missing)
        assert set(listed) == set(expected), "%s lists tensors no variable holds" % block.name


def _mlp(in_units=0):
    net = nn.HybridSequential()
    net.add(nn.Dense(8, activation="relu", in_units=in_units),
            nn.BatchNorm(in_channels=8 if in_units else 0),
            nn.Dense(3, in_units=8 if in_units else 0))
    return net


class _Nested(nn.Block):
    """Children by attribute, a Sequential inside, a parameter of its own."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.body = nn.Sequential()
        self.body.add(nn.Dense(6, activation="tanh"), nn.Dense(4))
        self.head = nn.Dense(2)
        self.scale = self.params.get("scale", shape=(1,), init="ones")

    def forward(self, x):
        return self.head(self.body(x)) * self.scale.data()


def _x(rows=4, cols=5, seed=0):
    return torch.tensor(np.random.RandomState(seed).normal(size=(rows, cols)),
                        dtype=torch.float32)


def _names(net):
    return [name for name, _ in net.named_parameters()]


# -- every lifecycle state ------------------------------------------------------------
def test_known_shapes_listed_at_initialize():
    net = _mlp(in_units=5)
    net.initialize()
    _assert_torch_parameters_complete(net)
    assert len(list(net.parameters())) == 8  # 2 dense x 2 + batchnorm's 4


def test_deferred_weights_join_every_ancestor_at_the_first_pass():
    net = _Nested()
    net.initialize()
    # before the pass the weights' shapes are unknown: listed as stand-ins, as
    # PyTorch's lazy modules list theirs
    listed = list(net.parameters())
    assert len(listed) == 7
    waiting = [t for t in listed if isinstance(t, torch.nn.parameter.UninitializedParameter)]
    assert len(waiting) == 3
    net(_x())
    _assert_torch_parameters_complete(net)
    assert len(list(net.parameters())) == 7
    # reading parameters() before the pass froze nothing: the same holds for a net
    # asked only afterwards
    other = _mlp()
    other.initialize()
    list(other.parameters())
    other(_x())
    _assert_torch_parameters_complete(other)
    assert len(list(other.parameters())) == 8


def test_named_parameters_follow_the_block_structure():
    net = _mlp()
    net.initialize()
    net(_x())
    assert _names(net) == [
        "0._torch_params.weight", "0._torch_params.bias",  # declared order (bias made first)
        "1._torch_params.gamma", "1._torch_params.beta", "1._torch_params.running_mean",
        "1._torch_params.running_var", "2._torch_params.weight", "2._torch_params.bias"]
    # names within each block, not Keras's paths (global counters): two nets of one
    # architecture have the same state_dict keys
    twin = _mlp()
    twin.initialize()
    twin(_x())
    assert _names(twin) == _names(net)


def test_load_parameters_into_a_deferred_net(tmp_path):
    source = _mlp()
    source.initialize()
    source(_x())
    source.save_parameters(str(tmp_path / "mlp.params"))
    net = _mlp()
    net.load_parameters(str(tmp_path / "mlp.params"))
    _assert_torch_parameters_complete(net)
    assert len(list(net.parameters())) == 8
    np.testing.assert_allclose(net(_x()).detach().numpy(), source(_x()).detach().numpy(),
                               rtol=1e-6)


def test_cast_replaces_every_tensor():
    net = _mlp()
    net.initialize()
    net(_x())
    before = list(net.parameters())  # kept alive: their ids stay theirs
    net.cast("float64")
    _assert_torch_parameters_complete(net)
    after = list(net.parameters())
    assert len(after) == 8 and not {id(t) for t in before} & {id(t) for t in after}
    assert {t.dtype for t in after} == {torch.float64}


def test_force_reinit_and_set_data_keep_the_same_tensors():
    net = _mlp()
    net.initialize()
    net(_x())
    before = [id(t) for t in net.parameters()]
    net.initialize(force_reinit=True)
    net[0].weight.set_data(nd.ones((8, 5)))
    assert [id(t) for t in net.parameters()] == before
    _assert_torch_parameters_complete(net)
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(),
                                  net[0].weight.variable.value.detach().numpy())
    assert float(net[0].weight.variable.value.detach().sum()) == 40.0


def test_deepcopy_lists_the_copys_own_tensors():
    net = _Nested()
    net.initialize()
    net(_x())
    twin = copy.deepcopy(net)
    _assert_torch_parameters_complete(twin)
    assert not {id(t) for t in twin.parameters()} & {id(t) for t in net.parameters()}
    assert _names(twin) == _names(net)


def test_shared_parameters_listed_once():
    # Gluon 1.9's params=: the second Dense holds the first's weight and bias
    first = nn.Dense(4, in_units=4)
    net = nn.HybridSequential()
    net.add(first, nn.Dense(4, params=first.collect_params()))
    net.initialize()
    net(_x(cols=4))
    _assert_torch_parameters_complete(net)
    assert len(list(net.parameters())) == 2
    # share_parameters after both exist: the second's own tensors leave every list
    a, b = nn.Dense(3, in_units=4), nn.Dense(3, in_units=4)
    pair = nn.Sequential()
    pair.add(a, b)
    pair.initialize()
    assert len(list(pair.parameters())) == 4
    b.share_parameters(a.collect_params())
    _assert_torch_parameters_complete(pair)
    assert len(list(pair.parameters())) == 2
    assert [id(t) for t in b.parameters()] == [id(t) for t in a.parameters()]


def test_children_and_parameters_under_names_torch_or_keras_use():
    class Odd(nn.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.output = nn.Dense(3)  # Keras's name: the block keeps it apart
            self.update = self.params.get("update", shape=(3,), init="zeros")  # a dict method

        def forward(self, x):
            return self.output(x) + self.update.data()

    net = nn.Sequential()
    net.add(Odd())
    net.initialize()
    net(_x())
    _assert_torch_parameters_complete(net)
    assert len(list(net.parameters())) == 3


def test_grad_req_null_is_a_frozen_torch_parameter():
    net = _mlp()
    net.initialize()
    net(_x())
    net[2].weight.grad_req = "null"
    frozen = {id(net[2].weight.variable.value)}
    for t in net.parameters():
        assert t.requires_grad == (id(t) not in frozen | {
            id(p.variable.value) for p in net[1].collect_params().values()
            if p.name.endswith(("running_mean", "running_var"))})


def test_stand_ins_become_the_variables_tensors():
    net = _mlp()
    net.initialize()
    stand_ins = {name: t for name, t in net.named_parameters()
                 if isinstance(t, torch.nn.parameter.UninitializedParameter)}
    assert set(stand_ins) == {"0._torch_params.weight", "1._torch_params.gamma",
                              "1._torch_params.beta", "1._torch_params.running_mean",
                              "1._torch_params.running_var", "2._torch_params.weight"}
    assert [id(t) for _, t in net.named_parameters()][2:] == [id(t) for t in stand_ins.values()]
    with pytest.raises(ValueError, match="uninitialized parameter"):
        sum(t.numel() for t in net.parameters())
    net(_x())
    _assert_torch_parameters_complete(net)
    named = dict(net.named_parameters())
    for name, stand_in in stand_ins.items():
        assert named[name] is stand_in and type(stand_in) is torch.nn.Parameter
    assert not stand_ins["1._torch_params.running_mean"].requires_grad
    assert keras_compat.variable_tensor(net[0].weight.variable) is stand_ins[
        "0._torch_params.weight"]
    np.testing.assert_array_equal(stand_ins["1._torch_params.gamma"].detach().numpy(),
                                  np.ones(8, "float32"))


def test_optimizer_made_before_the_first_pass_trains_every_parameter():
    net = _Nested()
    # weights of order 1: with the default Uniform(0.07) the outputs are ~1e-3 and the
    # step on `scale` (1.0) can round away in float32, which would not be the optimizer's fault
    net.initialize(init.Normal(1.0))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)  # before the weights exist
    x = _x()
    loss = (net(x) ** 2).mean()
    before = {name: p.data().asnumpy() for name, p in net.collect_params().items()}
    loss.backward()
    optimizer.step()
    for name, p in net.collect_params().items():
        assert not np.array_equal(p.data().asnumpy(), before[name]), name


def test_load_parameters_materializes_the_stand_ins(tmp_path):
    source = _mlp()
    source.initialize()
    source(_x())
    source.save_parameters(str(tmp_path / "mlp.params"))
    net = _mlp()
    net.initialize()
    stand_ins = [t for t in net.parameters()]
    net.load_parameters(str(tmp_path / "mlp.params"))
    assert {id(t) for t in net.parameters()} == {id(t) for t in stand_ins}
    _assert_torch_parameters_complete(net)


# -- torch's tools over the parameters -------------------------------------------------
def test_torch_optim_trains_every_parameter():
    net = _Nested()
    net.initialize()
    x = _x()
    net(x)  # the dry run: every variable exists
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    before = {name: p.data().asnumpy() for name, p in net.collect_params().items()}
    optimizer.zero_grad()
    loss = (net(x) ** 2).mean()
    loss.backward()
    grads = {name: p.variable.value.grad.numpy().copy()
             for name, p in net.collect_params().items()}
    optimizer.step()
    for name, p in net.collect_params().items():
        assert np.abs(grads[name]).sum() > 0, name
        # the step wrote into the variable: Gluon's data() reads the result
        np.testing.assert_allclose(p.data().asnumpy(), before[name] - 0.1 * grads[name],
                                   rtol=1e-6, atol=1e-7, err_msg=name)


def test_torch_optim_matches_gluon_trainer():
    from keras_defer import autograd, gluon

    x = _x(rows=6)
    nets = []
    for _ in range(2):  # no BatchNorm: outside record() Gluon runs it in inference mode
        net = nn.HybridSequential()
        net.add(nn.Dense(8, activation="relu"), nn.Dense(3))
        net.initialize()
        net(x)
        nets.append(net)
    for a, b in zip(nets[0].collect_params().values(), nets[1].collect_params().values()):
        b.set_data(a.data())
    torch_net, gluon_net = nets
    optimizer = torch.optim.SGD(torch_net.parameters(), lr=0.05)
    trainer = gluon.Trainer(gluon_net.collect_params(), "sgd", {"learning_rate": 0.05})
    for _ in range(3):
        optimizer.zero_grad()
        torch_net(x).square().sum().backward()
        optimizer.step()
        with autograd.record():
            loss = gluon_net(nd.array(x.numpy())).square().sum()
        loss.backward()
        trainer.step(1)
    for a, b in zip(torch_net.collect_params().values(), gluon_net.collect_params().values()):
        np.testing.assert_allclose(a.data().asnumpy(), b.data().asnumpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=a.name)


def test_state_dict_round_trip():
    x = _x()
    source, target = _Nested(), _Nested()
    for net in (source, target):
        net.initialize()
        net(x)
    state = source.state_dict()
    assert len(state) == 7
    target.load_state_dict(state)
    for a, b in zip(source.collect_params().values(), target.collect_params().values()):
        np.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy())
    np.testing.assert_array_equal(target(x).detach().numpy(), source(x).detach().numpy())
