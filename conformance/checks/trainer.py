"""The trainer clauses (TR-01..18): Parameters and a gluon.Trainer with a drawn
optimizer, options and learning-rate scheduler; moves write gradients (a recorded
backward, or a direct write that leaves them stale), step with a batch size (some
gradients stale, ignore_stale_grad or not), set the learning rate, change a
parameter's lr_mult/wd_mult, save and load the trainer's states.  After every move
every weight and trainer.learning_rate are compared with the numpy model
(optimizer_model).

Tolerance (float32): a weight within 1e-6 absolute or 1e-5 relative of the model
(`|got - want| <= 1e-6 + 1e-5 |want|`; NaN where the model is NaN); the learning rate
within 1e-9 relative.  Weights and gradients are small multiples of 1/8 and 1/4, so
a few steps stay near 1 and the drift between float32 implementations stays small.
"""

import os
import tempfile

import numpy as np
from hypothesis import strategies as st

from conformance import optimizer_model as OM
from conformance.checks.common import Example
from conformance.model import ModelError

RULE_CLAUSE = {"sgd": "TR-02", "nag": "TR-03", "adam": "TR-04", "adagrad": "TR-05",
               "rmsprop": "TR-06", "adadelta": "TR-07", "adamax": "TR-08", "nadam": "TR-09",
               "ftml": "TR-10", "signum": "TR-11", "lamb": "TR-12"}
RTOL, ATOL = 1e-5, 1e-6
NAMES = ["dense0_weight", "dense0_bias", "conv1_weight", "alpha", "beta"]

# hyper-parameters each optimizer may be given (besides learning_rate, wd, clip_gradient)
HYPER = {
    "sgd": {"momentum": [0.0, 0.9, 0.5]},
    "nag": {"momentum": [0.0, 0.9]},
    "signum": {"momentum": [0.9, 0.0], "wd_lh": [0.0, 0.01]},
    "adam": {"beta1": [0.9, 0.5], "epsilon": [1e-8, 1e-3]},
    "adagrad": {"eps": [1e-7, 1e-2]},
    "rmsprop": {"centered": [False, True], "gamma1": [0.9, 0.5], "clip_weights": [None, 0.8]},
    "adadelta": {"rho": [0.9, 0.5], "epsilon": [1e-5, 1e-3]},
    "adamax": {"beta1": [0.9, 0.5]},
    "nadam": {"schedule_decay": [0.004, 0.1]},
    "ftml": {"beta1": [0.6, 0.9]},
    "lamb": {"bias_correction": [True, False], "lower_bound": [None, 0.5],
             "upper_bound": [None, 2.0]},
}


class Training(Example):
    """One example of the trainer group: parameters and a trainer, both sides."""

    def __init__(self, run):
        super().__init__(run, "TR-01")
        self.script = self.adapter.trainer_script_header()
        self.missing = self.adapter.trainer_available()
        self.can_record = "no_recording" not in self.adapter.divergences
        self.model = None        # optimizer_model.TrainerModel
        self.trainer = None
        self.params = {}         # name -> the implementation's Parameter
        self.rule = "TR-02"
        self.saved = None        # path of the saved states
        self.next_context = None  # the clause the next step's weights verify, if special

    def available(self, clause):
        if self.missing is not None:
            self.check(clause, False, "gluon.Trainer, optimizer and lr_scheduler are "
                       "importable; got %s" % self.missing)
        return True

    def finish(self):
        super().finish()
        if self.saved and os.path.exists(self.saved):
            os.remove(self.saved)


def close(got, want, rtol=RTOL, atol=ATOL):
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    if got.shape != want.shape:
        return False
    nan = np.isnan(want)
    if not np.array_equal(np.isnan(got), nan):
        return False
    return bool(np.all(np.abs(got[~nan] - want[~nan]) <= atol + rtol * np.abs(want[~nan])))


def _values(data, shape, label, scale=8, nonzero=False):
    """Multiples of 1/scale in [-1, 1] (scale 8: weights) or [-2, 2] (scale 4:
    gradients), from one drawn seed (a draw per element costs more than the step)."""
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label=label)
    rng = np.random.default_rng(seed)
    high = scale if scale == 8 else 2 * scale
    v = rng.integers(-high, high + 1, size=int(np.prod(shape)))
    if nonzero:
        v = np.where(v == 0, 1, v)
    return (v.astype(np.float64) / scale).reshape(shape).astype(np.float32)


def _nd(a):
    return "nd.array(%r)" % (a.tolist(),)


# -- comparing ----------------------------------------------------------------------------------
def after_move(t):
    if t.model is None:
        return
    for p in t.model.params:
        got, kind, _ = t.call(t.adapter.tr_weight, t.params[p.name], t.device)
        clause = "TR-16" if p.req == "null" else t.context
        t.check(clause, kind is None and close(got, p.w),
                "%s.data() is\n%r\ngot\n%r\n(|got - want| <= %g + %g |want|)"
                % (p.name, p.w, got if kind is None else kind, ATOL, RTOL))
    want = t.model.learning_rate
    got, kind, _ = t.call(t.adapter.tr_learning_rate, t.trainer)
    clause = "TR-14" if t.model.opt.scheduler is not None else (
        "TR-15" if t.context == "TR-15" else "TR-01")
    t.check(clause, kind is None and got is not None and
            abs(float(got) - want) <= 1e-9 * max(1.0, abs(want)),
            "trainer.learning_rate is %r; got %r" % (want, got if kind is None else kind))
    t.run.steps += 1


# -- moves --------------------------------------------------------------------------------------
def _scheduler(data):
    kind = data.draw(st.sampled_from([None, None, None, "factor", "multifactor", "poly",
                                      "cosine"]), label="scheduler")
    if kind is None:
        return None, None
    kwargs = {"base_lr": data.draw(st.sampled_from([0.1, 0.05]), label="base_lr")}
    if kind == "factor":
        kwargs.update(step=data.draw(st.integers(1, 3), label="step"),
                      factor=data.draw(st.sampled_from([0.5, 0.9]), label="factor"))
    elif kind == "multifactor":
        kwargs.update(step=[1, 3], factor=0.5)
    elif kind == "poly":
        kwargs.update(max_update=6, pwr=data.draw(st.sampled_from([1, 2]), label="pwr"))
    else:
        kwargs.update(max_update=6, final_lr=0.01)
    if data.draw(st.integers(0, 3), label="warmup") == 0:
        kwargs.update(warmup_steps=2, warmup_begin_lr=0.01)
        if data.draw(st.booleans(), label="constant warmup"):
            kwargs["warmup_mode"] = "constant"
    return kind, kwargs


def build(t, data):
    """Parameters (values set), a Trainer with a drawn optimizer and options."""
    if not t.available("TR-01"):
        return
    opt = data.draw(st.sampled_from(sorted(OM.OPTIMIZERS)), label="optimizer")
    n = data.draw(st.integers(1, 3), label="parameters")
    if t.saved is not None:   # a new trainer: the old one's states are not loaded into it
        os.remove(t.saved)
        t.saved = None
    t.next_context = None
    names = data.draw(st.permutations(NAMES), label="names")[:n]
    t.context = "TR-01"
    specs = []
    for name in names:
        shape = data.draw(st.sampled_from([(2,), (3,), (2, 2), (1,)]), label="shape")
        values = _values(data, shape, "values")
        req = data.draw(st.sampled_from(["write", "write", "write", "null"]), label="grad_req")
        lr_mult = data.draw(st.sampled_from([1.0, 1.0, 0.5, 2.0]), label="lr_mult")
        wd_mult = data.draw(st.sampled_from([1.0, 1.0, 0.0, 2.0]), label="wd_mult")
        specs.append((name, values, req, lr_mult, wd_mult))
        t.line("%s = gluon.Parameter(%r, shape=%r, grad_req=%r, lr_mult=%r, wd_mult=%r)"
               % (name, name, shape, req, lr_mult, wd_mult))
        t.line("%s.initialize(); %s.set_data(%s)" % (name, name, _nd(values)))
        p, kind, _ = t.call(t.adapter.tr_parameter, name, values, req, lr_mult, wd_mult,
                            t.device)
        t.check("TR-01", kind is None, "a Parameter is made and set; got %s" % kind)
        t.params[name] = p
    t.rule = RULE_CLAUSE[opt]
    params = {}
    for key, choices in HYPER[opt].items():
        choice = data.draw(st.sampled_from([None] + choices), label=key)
        if choice is not None:
            params[key] = choice
    if opt == "signum" and params.get("momentum") == 0.0:
        # MXNet 1.9.1 passes wd_lh to signsgd_update, which refuses it (MXNetError)
        params.pop("wd_lh", None)
    lr = data.draw(st.sampled_from([None, None, 0.1, 0.05]), label="learning_rate")
    if lr is not None:
        params["learning_rate"] = lr
    wd = data.draw(st.sampled_from([None, 0.0, 0.01, 0.1]), label="wd")
    if wd is not None:
        params["wd"] = wd
    clip = data.draw(st.sampled_from([None, None, 0.5]), label="clip_gradient")
    if clip is not None:
        params["clip_gradient"] = clip
    kind, kwargs = _scheduler(data)
    scheduler = OM.Scheduler(kind, **kwargs) if kind else None
    given = dict(params)
    if kind:
        t.line("sched = lr_scheduler.%s(**%r)" % (
            {"factor": "FactorScheduler", "multifactor": "MultiFactorScheduler",
             "poly": "PolyScheduler", "cosine": "CosineScheduler"}[kind], kwargs))
        s, err, _ = t.call(t.adapter.tr_scheduler, kind, kwargs)
        t.check("TR-14", err is None, "the scheduler builds; got %s" % err)
        given["lr_scheduler"] = s
    as_dict = data.draw(st.booleans(), label="as dict")
    order = sorted(names) if as_dict else list(names)
    models = {s[0]: OM.ParamModel(*s) for s in specs}
    t.model = OM.TrainerModel([models[nm] for nm in order], opt, params, scheduler, t.device,
                              atomic_stale_step="atomic_stale_step" in t.adapter.divergences)
    listed = ("{%s}" % ", ".join("%r: %s" % (nm, nm) for nm in names)) if as_dict \
        else "[%s]" % ", ".join(names)
    opt_text = ", ".join(["%r: %r" % kv for kv in params.items()] +
                         (["'lr_scheduler': sched"] if kind else []))
    t.line("trainer = gluon.Trainer(%s, %r, {%s})" % (listed, opt, opt_text))
    t.trainer, err, _ = t.call(t.adapter.tr_trainer, [t.params[nm] for nm in names], as_dict,
                               opt, given)
    t.check("TR-01", err is None, "gluon.Trainer(...) raises nothing; got %s" % err)
    t.line("print(trainer.learning_rate)  # %r" % t.model.learning_rate)
    after_move(t)
    train(t, data)   # every example runs its optimizer at least once


def train(t, data):
    """The training loop's iteration: a backward reaching every trainable parameter,
    then step(batch_size)."""
    if t.model is None:
        return
    gradients(t, data, every=True)
    step(t, data)


def partial(t, data):
    """An iteration that reaches some parameters only (a net using a subset of its
    blocks), then step: stale gradients, ignore_stale_grad, consumed fresh flags."""
    if t.model is None:
        return
    gradients(t, data, direct=False, leading=True)
    step(t, data)


def gradients(t, data, every=False, direct=None, leading=False):
    """Fresh gradients by a recorded backward (of some parameters, or `every` one), or
    a direct write (not fresh)."""
    if t.model is None:
        return
    trainable = [p for p in t.model.params if p.req != "null"]
    if not trainable:
        return
    if direct is None:
        direct = not every and data.draw(st.integers(0, 3), label="direct") == 0
    if every:
        chosen = trainable
    elif leading and len(trainable) > 1:
        # the first parameters in the trainer's order: a refused step then names the
        # first one left out, after consuming the fresh flags before it
        chosen = trainable[:data.draw(st.integers(1, len(trainable) - 1), label="leading")]
    else:
        chosen = data.draw(st.lists(st.sampled_from(trainable), min_size=1, unique_by=id,
                                    max_size=len(trainable)), label="which")
    grads = [_values(data, p.w.shape, "grad", scale=4, nonzero=True) for p in chosen]
    t.context = t.rule
    if direct:
        p, g = chosen[0], grads[0]
        t.context = "TR-17"
        t.line("%s.grad()[:] = %s  # not fresh: no backward" % (p.name, _nd(g)))
        t.model.write_grad(p.name, g)
        _, kind, _ = t.call(t.adapter.tr_write_grad, t.params[p.name], g, t.device)
        t.check("TR-17", kind is None, "p.grad()[:] = g raises nothing; got %s" % kind)
        return
    if t.can_record:
        t.line("with autograd.record():")
        t.line("    total = %s" % " + ".join("(%s.data() * %s).sum()" % (p.name, _nd(g))
                                             for p, g in zip(chosen, grads)))
        t.line("total.backward()")
    else:   # divergence 'no_recording': the adapter writes and marks (tr_backward)
        for p, g in zip(chosen, grads):
            t.line("%s.grad()[:] = %s; %s._fresh_grad = True  # no backward on JAX"
                   % (p.name, _nd(g), p.name))
    t.model.backward({p.name: g for p, g in zip(chosen, grads)})
    _, kind, _ = t.call(t.adapter.tr_backward, [t.params[p.name] for p in chosen], grads,
                        t.device)
    t.check(t.rule, kind is None, "the backward raises nothing; got %s" % kind)


def _error_text(fn, *args):
    """(kind-or-None, exception text) of a call (UserWarning raised as an error)."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - every error is an observable
        return exc, str(exc)
    return None, None


def step(t, data):
    if t.model is None:
        return
    batch = data.draw(st.sampled_from([1, 2, 4]), label="batch_size")
    ignore = data.draw(st.integers(0, 4), label="ignore_stale_grad") == 0
    stale = [p.name for p in t.model.params if p.req != "null" and not p.fresh]
    t.context = t.next_context or t.rule
    t.next_context = None
    if stale:
        t.context = "TR-17"
    try:
        t.model.step(batch, ignore)
        expected = None
    except ModelError as exc:
        expected = exc
    t.line("trainer.step(%d%s)%s" % (batch, ", ignore_stale_grad=True" if ignore else "",
                                     "  # raises UserWarning" if expected else ""))
    exc, text = _error_text(t.adapter.tr_step, t.trainer, batch, ignore)
    kind = None if exc is None else (t.adapter.classify(exc) or type(exc).__name__)
    if expected is None:
        t.check(t.context, exc is None, "step raises nothing; got %s: %s" % (kind, text))
        return
    t.check("TR-17", kind == "stale_grad" and text == expected.detail,
            "step raises UserWarning(%r); got %s(%r)" % (expected.detail, kind, text))
    if data.draw(st.booleans(), label="retry ignoring stale"):
        # what the warning suggests: the retry updates the fresh parameters after the
        # stale one only (those before it had their fresh flag consumed by the refusal)
        after_move(t)
        t.model.step(batch, True)
        t.line("trainer.step(%d, ignore_stale_grad=True)  # the retry" % batch)
        exc, text = _error_text(t.adapter.tr_step, t.trainer, batch, True)
        t.check("TR-17", exc is None, "step(ignore_stale_grad=True) raises nothing; got %s: %s"
                % (exc and type(exc).__name__, text))


def set_learning_rate(t, data):
    if t.model is None:
        return
    lr = data.draw(st.sampled_from([0.1, 0.02, 0.005]), label="lr")
    t.context = "TR-15"
    try:
        t.model.set_learning_rate(lr)
        expected = None
    except ModelError as exc:
        expected = exc
    t.line("trainer.set_learning_rate(%r)%s" % (lr, "  # raises UserWarning" if expected else ""))
    exc, text = _error_text(t.adapter.tr_set_learning_rate, t.trainer, lr)
    kind = None if exc is None else (t.adapter.classify(exc) or type(exc).__name__)
    if expected is None:
        t.check("TR-15", exc is None, "set_learning_rate raises nothing; got %s: %s" % (kind, text))
        t.next_context = "TR-15"
        return
    t.check("TR-15", kind == "scheduler_defined" and text == expected.detail,
            "set_learning_rate raises UserWarning(%r); got %s(%r)" % (expected.detail, kind, text))


def multipliers(t, data):
    if t.model is None:
        return
    p = data.draw(st.sampled_from(t.model.params), label="parameter")
    attr = data.draw(st.sampled_from(["lr_mult", "wd_mult"]), label="multiplier")
    value = data.draw(st.sampled_from([v for v in (0.0, 0.5, 2.0, 1.0)
                                       if v != getattr(p, attr)]), label="value")
    t.context = "TR-13"
    t.line("%s.%s = %r" % (p.name, attr, value))
    setattr(p, attr, value)
    _, kind, _ = t.call(t.adapter.tr_set_mult, t.params[p.name], attr, value)
    t.check("TR-13", kind is None, "setting %s raises nothing; got %s" % (attr, kind))
    after_move(t)
    t.next_context = "TR-13"
    train(t, data)   # the next iteration reads the new multiplier


def states(t, data):
    """save_states, some training, load_states, more training: after the load the
    optimizer continues from the saved states (momenta, counts, learning rate)."""
    if t.model is None:
        return
    t.context = "TR-18"
    if t.saved is None:
        handle, t.saved = tempfile.mkstemp(suffix=".states", prefix="conformance-")
        os.close(handle)
        t.line("path = os.path.join(tempfile.mkdtemp(), 'trainer.states')")
    t.line("trainer.save_states(path)")
    t.model.save_states()
    _, kind, _ = t.call(t.adapter.tr_save_states, t.trainer, t.saved)
    t.check("TR-18", kind is None, "save_states raises nothing; got %s" % kind)
    for _ in range(data.draw(st.integers(1, 2), label="iterations before the load")):
        train(t, data)
        after_move(t)
    t.line("trainer.load_states(path)")
    t.model.load_states()
    _, kind, _ = t.call(t.adapter.tr_load_states, t.trainer, t.saved)
    t.check("TR-18", kind is None, "load_states raises nothing; got %s" % kind)
    after_move(t)
    t.next_context = "TR-18"
    train(t, data)
