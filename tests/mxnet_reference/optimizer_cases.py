"""The optimizer cases recorded from MXNet 1.9.1 and replayed on keras_defer (shared by
``record_optimizer.py`` and ``tests/test_optimizer.py``; framework-free).

A case: an optimizer name, its keyword arguments (``lr_scheduler`` as
``[class name, kwargs]``), the weights' dtype, how the step is called ('updater':
``updater(indices, grads, weights)`` as a Trainer does; 'update': ``opt.update`` per
index, with ``create_state_multi_precision``), and extras: ``lr_mult`` (for
``set_lr_mult``), ``param_dict`` ({index: (lr_mult, wd_mult)}), ``idx2name``.
"""

import numpy as np

STEPS = 8
SHAPES = [(3, 4), (5,)]

NOISY = {"wd": 0.01, "rescale_grad": 0.5, "clip_gradient": 0.3}
MULTS = {"lr_mult": {0: 0.5}, "param_dict": {1: (2.0, 0.0)}}
SCHED = ["FactorScheduler", {"step": 3, "factor": 0.5, "base_lr": 0.1}]


def _case(opt, kwargs=None, dtype="float32", mode="updater", **extra):
    return dict(opt=opt, kwargs=kwargs or {}, dtype=dtype, mode=mode, **extra)


CASES = {
    "sgd": _case("sgd", {"learning_rate": 0.1}),
    "sgd_noisy": _case("sgd", dict(learning_rate=0.1, **NOISY)),
    "sgd_mom": _case("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    "sgd_mom_noisy": _case("sgd", dict(learning_rate=0.1, momentum=0.9, **NOISY)),
    "sgd_mom_mults": _case("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.1), **MULTS),
    "sgd_mom_sched": _case("sgd", dict(momentum=0.9, lr_scheduler=SCHED, wd=0.01)),
    "sgd_mom_update": _case("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01), mode="update"),
    "sgd_idx2name": _case("sgd", dict(learning_rate=0.1, wd=0.1),
                          idx2name={0: "dense0_weight", 1: "dense0_bias"}),
    "sgd_mom_fp16_mp": _case("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01,
                                         multi_precision=True), dtype="float16"),
    "sgd_mom_fp16": _case("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01),
                          dtype="float16"),
    "sgd_fp16_mp": _case("sgd", dict(learning_rate=0.1, multi_precision=True), dtype="float16"),
    "nag": _case("nag", {"learning_rate": 0.1}),
    "nag_mom": _case("nag", {"learning_rate": 0.1, "momentum": 0.9}),
    "nag_mom_noisy": _case("nag", dict(learning_rate=0.1, momentum=0.9, **NOISY), **MULTS),
    "nag_mom_fp16_mp": _case("nag", dict(learning_rate=0.1, momentum=0.9, wd=0.01,
                                         multi_precision=True), dtype="float16"),
    "adam": _case("adam", {}),
    "adam_noisy": _case("adam", dict(learning_rate=0.01, **NOISY), **MULTS),
    "adam_sched": _case("adam", dict(lr_scheduler=SCHED, beta1=0.8, beta2=0.99, epsilon=1e-6)),
    "adam_fp16": _case("adam", dict(learning_rate=0.01, wd=0.01), dtype="float16"),
    "adam_fp16_mp": _case("adam", dict(learning_rate=0.01, wd=0.01, multi_precision=True),
                          dtype="float16"),
    "adagrad": _case("adagrad", {"learning_rate": 0.1}),
    "adagrad_noisy": _case("adagrad", dict(learning_rate=0.1, **NOISY), **MULTS),
    "rmsprop": _case("rmsprop", {}),
    "rmsprop_noisy": _case("rmsprop", dict(learning_rate=0.01, clip_weights=0.9, **NOISY),
                           **MULTS),
    "rmsprop_centered": _case("rmsprop", {"centered": True, "learning_rate": 0.01}),
    "rmsprop_centered_noisy": _case("rmsprop", dict(centered=True, learning_rate=0.01,
                                                    gamma1=0.95, gamma2=0.8, **NOISY)),
    "adadelta": _case("adadelta", {}),
    "adadelta_noisy": _case("adadelta", dict(rho=0.8, **NOISY), **MULTS),
    "adamax": _case("adamax", {}),
    "adamax_noisy": _case("adamax", dict(**NOISY), **MULTS),
    "nadam": _case("nadam", {}),
    "nadam_noisy": _case("nadam", dict(learning_rate=0.01, **NOISY), **MULTS),
    "ftml": _case("ftml", {"learning_rate": 0.01}),
    "ftml_noisy": _case("ftml", dict(learning_rate=0.01, **NOISY), **MULTS),
    "ftrl": _case("ftrl", {}),
    "ftrl_noisy": _case("ftrl", dict(lamda1=0.001, beta=0.5, **NOISY), **MULTS),
    "signum": _case("signum", {}),
    "signum_noisy": _case("signum", dict(wd_lh=0.1, **NOISY), **MULTS),
    "signsgd": _case("signum", dict(momentum=0.0, **NOISY)),
    "signsgd_wd_lh": _case("signum", dict(momentum=0.0, wd_lh=0.1)),  # MXNet refuses
    "lamb": _case("lamb", {"learning_rate": 0.01}),
    "lamb_noisy": _case("lamb", dict(learning_rate=0.01, **NOISY), **MULTS),
    "lamb_bounds": _case("lamb", dict(learning_rate=0.01, wd=0.01, lower_bound=0.5,
                                      upper_bound=1.5, bias_correction=False)),
    "lamb_update": _case("lamb", dict(learning_rate=0.01, wd=0.01), mode="update"),
    "lamb_update_bounds": _case("lamb", dict(learning_rate=0.01, lower_bound=2.0,
                                             upper_bound=2.5), mode="update"),
    "lamb_fp16_mp": _case("lamb", dict(learning_rate=0.01, multi_precision=True),
                          dtype="float16"),
    # MXNet's single-index path never steps the float32 master copy (see divergences)
    "lamb_fp16_mp_update": _case("lamb", dict(learning_rate=0.01, multi_precision=True),
                                 dtype="float16", mode="update"),
    "dcasgd": _case("dcasgd", dict(learning_rate=0.1, momentum=0.9, **NOISY)),
    "dcasgd_nomom": _case("dcasgd", dict(learning_rate=0.1)),
    "lars": _case("lars", dict(learning_rate=0.1, momentum=0.9, eta=0.01, wd=0.01),
                  idx2name={0: "dense0_weight", 1: "dense0_bias"}),
    "lbsgd": _case("lbsgd", dict(learning_rate=0.1, momentum=0.9, batch_scale=2,
                                 warmup_epochs=1, updates_per_epoch=4)),
    "test": _case("test", {"rescale_grad": 0.5}),
    "groupadagrad": _case("groupadagrad", dict(learning_rate=0.1, rescale_grad=0.5,
                                               clip_gradient=0.3), shapes=[(3, 4), (2, 6)]),
}


def initial_weights(dtype, shapes=SHAPES):
    rng = np.random.RandomState(0)
    return [rng.uniform(-1, 1, size=s).astype(dtype) for s in shapes]


def gradients(dtype, shapes=SHAPES):
    """One list of gradients per step (the same for every case)."""
    rng = np.random.RandomState(1)
    return [[rng.normal(0, 1, size=s).astype(dtype) for s in shapes] for _ in range(STEPS)]


def flatten_states(state):
    """Every NDArray of a state, in order (nested tuples/lists; None skipped)."""
    if state is None:
        return []
    if isinstance(state, (tuple, list)):
        return [a for s in state for a in flatten_states(s)]
    return [state]


def state_layout(state):
    """The state's nesting, as a string: 'A' an array, 'N' None, '(..)' a tuple."""
    if state is None:
        return "N"
    if isinstance(state, (tuple, list)):
        return "(" + ",".join(state_layout(s) for s in state) + ")"
    return "A"


def concat(weights, states):
    """One step's weights, then every state array, flattened into one float32 vector."""
    parts = list(weights) + [a for flat in states for a in flat]
    return np.concatenate([np.asarray(p, dtype=np.float32).ravel() for p in parts])


def make_optimizer(mx, case):
    kwargs = dict(case["kwargs"])
    if "lr_scheduler" in kwargs:
        cls, sched_kwargs = kwargs["lr_scheduler"]
        kwargs["lr_scheduler"] = getattr(mx.lr_scheduler, cls)(**sched_kwargs)
    if "idx2name" in case:
        kwargs["param_idx2name"] = {int(k): v for k, v in case["idx2name"].items()}
    if "param_dict" in case:
        class _Param:
            def __init__(self, lr_mult, wd_mult):
                self.lr_mult, self.wd_mult = lr_mult, wd_mult
        kwargs["param_dict"] = {int(k): _Param(*v) for k, v in case["param_dict"].items()}
    opt = mx.optimizer.create(case["opt"], **kwargs)
    if "lr_mult" in case:
        opt.set_lr_mult({int(k): v for k, v in case["lr_mult"].items()})
    return opt


def run(mx, case, make_weight=None):
    """Run ``case`` on framework ``mx``: per step, the weights and flattened states
    (numpy), and the states' layout. ``make_weight(numpy array)`` makes the weight
    NDArrays (default ``nd.array``; a test passes ``Parameter.data()``s)."""
    nd = mx.nd
    dtype = case["dtype"]
    opt = make_optimizer(mx, case)
    make_weight = make_weight or (lambda w: nd.array(w, dtype=dtype))
    shapes = case.get("shapes", SHAPES)
    weights = [make_weight(w) for w in initial_weights(dtype, shapes)]
    steps = []
    indices = list(range(len(weights)))
    if case["mode"] == "updater":
        updater = mx.optimizer.get_updater(opt)
        for grads in gradients(dtype, shapes):
            updater(indices, [nd.array(g, dtype=dtype) for g in grads], weights)
            states = [updater.states[i] for i in indices]
            steps.append(([w.asnumpy() for w in weights],
                          [[a.asnumpy() for a in flatten_states(s)] for s in states]))
    else:
        states = [opt.create_state_multi_precision(i, w) for i, w in zip(indices, weights)]
        for grads in gradients(dtype, shapes):
            for i in indices:
                opt.update_multi_precision(i, weights[i], nd.array(grads[i], dtype=dtype),
                                           states[i])
            steps.append(([w.asnumpy() for w in weights],
                          [[a.asnumpy() for a in flatten_states(s)] for s in states]))
    return steps, [state_layout(s) for s in states], opt
