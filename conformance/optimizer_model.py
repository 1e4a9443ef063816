"""The reference model of MXNet 1.9.1's optimizers, learning-rate schedulers and
`gluon.Trainer` (numpy only, no framework).

Update rules are those of `mxnet/optimizer/optimizer.py` and its fused operators
(`src/operator/optimizer_op-inl.h`: sgd_update, sgd_mom_update, nag_mom_update,
adam_update, rmsprop(alex)_update, signsgd/signum_update, ftml_update,
lamb_update_phase1/2), computed in float32 as MXNet does (numpy float32 arrays,
Python float hyper-parameters).  What the model follows besides the formulas:

* `rescale_grad = 1 / batch_size` at every `step` (the Trainer's scale is 1.0);
* per-parameter update counts `t` (Adam's, FTML's, LAMB's bias corrections) and
  `num_update`, the largest count so far, which a scheduler reads; SGD aggregates up
  to 4 parameters in one call (counts all raised, then one learning rate for all);
* a parameter's `lr_mult`/`wd_mult` are read at every update (the Trainer hands the
  optimizer its Parameters: `param_dict`);
* Nadam's `m_schedule` is one product over every update of every parameter;
* an optimizer class's own default `learning_rate` (Adam's 0.001, ...) overrides a
  scheduler's `base_lr` (Optimizer.__init__); `set_learning_rate` with a scheduler
  raises; Poly/Cosine keep the `base_lr` they were built with (`base_lr_orig`);
* `Trainer.step` walks the parameters in the trainer's order: a 'null' one is
  skipped; a stale one (no backward since the last step) raises UserWarning, after the
  parameters before it had their fresh flag consumed, and nothing is updated;
  `ignore_stale_grad=True` updates only fresh ones;
* `save_states`/`load_states` pickle the updater's states and the optimizer (counts,
  learning rate, scheduler), restored as they were.
"""

import copy
import math

import numpy as np

from conformance.model import ModelError

F32 = np.float32

# name -> (class default learning_rate (None: Optimizer's, 0.01 without a scheduler),
#          hyper-parameter defaults, aggregate_num)
OPTIMIZERS = {
    "sgd": (None, {"momentum": 0.0}, 4),
    "nag": (None, {"momentum": 0.0}, 0),
    "signum": (0.01, {"momentum": 0.9, "wd_lh": 0.0}, 0),
    "adam": (0.001, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, 0),
    "adagrad": (None, {"eps": 1e-7}, 0),
    "rmsprop": (0.001, {"gamma1": 0.9, "gamma2": 0.9, "epsilon": 1e-8, "centered": False,
                        "clip_weights": None}, 0),
    "adadelta": (None, {"rho": 0.9, "epsilon": 1e-5}, 0),
    "adamax": (0.002, {"beta1": 0.9, "beta2": 0.999}, 0),
    "nadam": (0.001, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                      "schedule_decay": 0.004}, 0),
    "ftml": (None, {"beta1": 0.6, "beta2": 0.999, "epsilon": 1e-8}, 0),
    "lamb": (0.001, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-6, "lower_bound": None,
                     "upper_bound": None, "bias_correction": True}, 45),
}

# the optimizers MXNet 1.9.1 runs as one fused float32 operator (the others are Python
# over NDArray ops, their scalars float64 until an op casts them)
FUSED = ("sgd", "nag", "signum", "adam", "rmsprop", "ftml", "lamb")

STALE = ("Gradient of Parameter `%s` on context %s has not been updated by backward since "
         "last `step`. This could mean a bug in your model that made it only use a subset of "
         "the Parameters (Blocks) for this iteration. If you are intentionally only using a "
         "subset, call step with ignore_stale_grad=True to suppress this warning and skip "
         "updating of Parameters with stale gradient")
SCHEDULER_DEFINED = ("LRScheduler of the optimizer has already been defined. Note that "
                     "set_learning_rate can mutate the value of the learning rate of the "
                     "optimizer only when the LRScheduler of the optimizer is undefined.")


# -- schedulers (mxnet/lr_scheduler.py) ---------------------------------------------------
class Scheduler:
    """One of MXNet's schedulers: kind 'factor', 'multifactor', 'poly' or 'cosine' and
    the keyword arguments it was built with; stateful as MXNet's (Factor counts)."""

    def __init__(self, kind, **kwargs):
        self.kind, self.kwargs = kind, dict(kwargs)
        base_lr = kwargs.get("base_lr", 0.01)
        self.base_lr = base_lr
        self.warmup_steps = kwargs.get("warmup_steps", 0)
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = kwargs.get("warmup_begin_lr", 0)
        self.warmup_mode = kwargs.get("warmup_mode", "linear")
        self.factor = kwargs.get("factor", 1)
        self.step = kwargs.get("step")
        self.stop_factor_lr = kwargs.get("stop_factor_lr", 1e-8)
        self.count = 0
        self.cur_step_ind = 0
        self.power = kwargs.get("pwr", 2)
        self.base_lr_orig = base_lr
        self.max_update = kwargs.get("max_update")
        self.final_lr = kwargs.get("final_lr", 0)
        if self.max_update is not None:
            self.max_steps = self.max_update - self.warmup_steps

    def warmup(self, n):
        if self.warmup_mode == "linear":
            return self.warmup_begin_lr + (self.warmup_final_lr - self.warmup_begin_lr) * \
                float(n) / float(self.warmup_steps)
        return self.warmup_begin_lr

    def __call__(self, n):
        if n < self.warmup_steps:
            return self.warmup(n)
        if self.kind == "factor":
            while n > self.count + self.step:
                self.count += self.step
                self.base_lr *= self.factor
                if self.base_lr < self.stop_factor_lr:
                    self.base_lr = self.stop_factor_lr
        elif self.kind == "multifactor":
            while self.cur_step_ind <= len(self.step) - 1:
                if n > self.step[self.cur_step_ind]:
                    self.count = self.step[self.cur_step_ind]
                    self.cur_step_ind += 1
                    self.base_lr *= self.factor
                else:
                    return self.base_lr
        elif self.kind == "poly":
            if n <= self.max_update:
                self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * pow(
                    1 - float(n - self.warmup_steps) / float(self.max_steps), self.power)
        elif self.kind == "cosine":
            if n <= self.max_update:
                self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * (
                    1 + math.cos(math.pi * (n - self.warmup_steps) / self.max_steps)) / 2
        return self.base_lr


# -- the optimizer ----------------------------------------------------------------------------
class Optimizer:
    def __init__(self, name, params, scheduler=None):
        """`params`: the optimizer_params given (learning_rate, wd, clip_gradient and
        the optimizer's own)."""
        default_lr, hyper, self.aggregate = OPTIMIZERS[name]
        self.name = name
        self.h = dict(hyper)
        self.h.update({k: v for k, v in params.items()
                       if k not in ("learning_rate", "wd", "clip_gradient")})
        self.wd = params.get("wd", 0.0)
        self.clip = params.get("clip_gradient")
        self.rescale = 1.0
        lr = params.get("learning_rate", default_lr)
        self.scheduler = scheduler
        if scheduler is None and lr is None:
            lr = 0.01
        self.lr = lr
        if scheduler is not None and lr is not None and scheduler.base_lr != lr:
            scheduler.base_lr = lr
        self.counts = {}
        self.num_update = 0
        self.states = {}
        self.m_schedule = 1.0

    @property
    def learning_rate(self):
        return self.scheduler(self.num_update) if self.scheduler is not None else self.lr

    def set_learning_rate(self, lr):
        if self.scheduler is not None:
            raise ModelError("scheduler_defined", SCHEDULER_DEFINED)
        self.lr = lr

    def _count(self, index):
        self.counts[index] = self.counts.get(index, 0) + 1
        self.num_update = max(self.counts[index], self.num_update)

    def _base_lr(self):
        return self.scheduler(self.num_update) if self.scheduler is not None else self.lr

    def update(self, items):
        """items: [(index, weight (float32, updated in place), grad, lr_mult, wd_mult)]
        in the order the Trainer hands them over."""
        if self.aggregate > 0 and self.name == "sgd":
            for start in range(0, len(items), self.aggregate):
                chunk = items[start:start + self.aggregate]
                for item in chunk:
                    self._count(item[0])
                lr = self._base_lr()
                for index, w, g, lr_mult, wd_mult in chunk:
                    self._apply(index, w, g, lr * lr_mult, self.wd * wd_mult)
            return
        for index, w, g, lr_mult, wd_mult in items:
            if self.name == "adadelta":   # reads wd before counting; no learning rate
                wd = self.wd * wd_mult
                self._count(index)
                self._apply(index, w, g, 0.0, wd)
                continue
            self._count(index)
            self._apply(index, w, g, self._base_lr() * lr_mult, self.wd * wd_mult)

    def _clip(self, g):
        return np.clip(g, -self.clip, self.clip) if self.clip else g

    def _state(self, index, w, n):
        if index not in self.states:
            self.states[index] = [np.zeros_like(w) for _ in range(n)]
        return self.states[index]

    def _apply(self, index, w, g, lr, wd):
        if self.name in FUSED:
            # a fused kernel takes its scalars as float32 parameters and computes in
            # float32 (1 - beta2 is 0.0009999871, not 0.001: visible at 1e-5)
            lr, wd = F32(lr), F32(wd)
        with np.errstate(all="ignore"):
            getattr(self, "_" + self.name)(index, w, np.asarray(g, F32), lr, wd)

    def _f(self, key):
        return F32(self.h[key])

    # -- the rules (w updated in place, float32) -------------------------------------------
    def _sgd(self, i, w, g, lr, wd):
        g = self._clip(g * F32(self.rescale))
        mom = self._f("momentum")
        if mom > 0:
            m, = self._state(i, w, 1)
            m[:] = mom * m - lr * wd * w - lr * g
            w += m
        else:
            w[:] = (F32(1) - lr * wd) * w - lr * g

    def _nag(self, i, w, g, lr, wd):
        mom = self._f("momentum")
        if mom > 0:
            # nag_mom_update(weight, grad, mom, out=weight): the kernel writes the weight
            # first, then the momentum from the *new* weight (out aliases weight; observed
            # in MXNet 1.9.1, conformance/test_model.py)
            m, = self._state(i, w, 1)
            g = self._clip(g * F32(self.rescale))
            step = g + wd * w
            w[:] = w + mom * (mom * m - lr * step) - lr * step
            m[:] = mom * m - lr * (g + wd * w)
        else:
            self._sgd(i, w, g, lr, wd)

    def _signum(self, i, w, g, lr, wd):
        mom = self._f("momentum")
        if mom > 0:
            m, = self._state(i, w, 1)
            one_m = F32(1) - mom
            m[:] = mom * m - one_m * wd * w - one_m * self._clip(g * F32(self.rescale))
            w[:] = (F32(1) - lr * self._f("wd_lh")) * w + lr * np.sign(m)
        else:
            w[:] = (F32(1) - lr * wd) * w - lr * np.sign(g)

    def _adam(self, i, w, g, lr, wd):
        t = self.counts[i]
        # the bias correction is Python's (float64), folded into the kernel's lr
        lr = F32(float(lr) * math.sqrt(1.0 - self.h["beta2"] ** t) / (1.0 - self.h["beta1"] ** t))
        m, v = self._state(i, w, 2)
        g = self._clip(g * F32(self.rescale) + wd * w)
        b1, b2 = self._f("beta1"), self._f("beta2")
        m[:] = b1 * m + (F32(1) - b1) * g
        v[:] = b2 * v + (F32(1) - b2) * g * g
        w[:] = w - lr * m / (np.sqrt(v) + self._f("epsilon"))

    def _adagrad(self, i, w, g, lr, wd):
        h, = self._state(i, w, 1)
        g = self._clip(g * F32(self.rescale))
        h += np.square(g)
        div = g / np.sqrt(h + F32(self.h["eps"]))
        w += (div + w * wd) * -lr

    def _rmsprop(self, i, w, g, lr, wd):
        g1, eps = self._f("gamma1"), self._f("epsilon")
        g = self._clip(g * F32(self.rescale) + wd * w)
        if not self.h["centered"]:
            n, = self._state(i, w, 1)
            n[:] = (F32(1) - g1) * g * g + g1 * n
            w[:] = w - lr * (g / np.sqrt(n + eps))
        else:
            n, gm, delta = self._state(i, w, 3)
            n[:] = (F32(1) - g1) * g * g + g1 * n
            gm[:] = (F32(1) - g1) * g + g1 * gm
            delta[:] = self._f("gamma2") * delta - lr * (g / np.sqrt(n - gm * gm + eps))
            w += delta
        cw = self.h["clip_weights"]
        if cw:
            w[:] = np.clip(w, -F32(cw), F32(cw))

    def _adadelta(self, i, w, g, lr, wd):
        rho, eps = self.h["rho"], self.h["epsilon"]
        g = g * F32(self.rescale)
        if self.clip is not None:
            g = np.clip(g, -self.clip, self.clip)
        acc_g, acc_d = self._state(i, w, 2)
        acc_g *= F32(rho)
        acc_g += (1.0 - rho) * g * g
        delta = np.sqrt(acc_d + eps) / np.sqrt(acc_g + eps) * g
        acc_d *= F32(rho)
        acc_d += (1.0 - rho) * delta * delta
        w -= delta + wd * w

    def _adamax(self, i, w, g, lr, wd):
        t = self.counts[i]
        b1, b2 = self.h["beta1"], self.h["beta2"]
        lr /= 1.0 - b1 ** t
        g = g * F32(self.rescale) + wd * w
        if self.clip is not None:
            g = np.clip(g, -self.clip, self.clip)
        m, u = self._state(i, w, 2)
        m *= F32(b1)
        m += (1.0 - b1) * g
        u[:] = np.maximum(b2 * u, np.abs(g))
        w -= lr * m / u

    def _nadam(self, i, w, g, lr, wd):
        t = self.counts[i]
        b1, b2, eps, sd = (self.h[k] for k in ("beta1", "beta2", "epsilon", "schedule_decay"))
        g = g * F32(self.rescale) + wd * w
        if self.clip is not None:
            g = np.clip(g, -self.clip, self.clip)
        mom_t = b1 * (1.0 - 0.5 * pow(0.96, t * sd))
        mom_t1 = b1 * (1.0 - 0.5 * pow(0.96, (t + 1) * sd))
        self.m_schedule = self.m_schedule * mom_t
        m_next = self.m_schedule * mom_t1
        m, v = self._state(i, w, 2)
        m *= F32(b1)
        m += (1.0 - b1) * g
        v *= F32(b2)
        v += (1.0 - b2) * g * g
        g_prime = g / (1.0 - self.m_schedule)
        m_prime = m / (1.0 - m_next)
        v_prime = v / (1.0 - pow(b2, t))
        m_bar = (1.0 - mom_t) * g_prime + mom_t1 * m_prime
        w -= lr * m_bar / (np.sqrt(v_prime) + eps)

    def _ftml(self, i, w, g, lr, wd):
        t = self.counts[i]
        b1, b2, eps = self._f("beta1"), self._f("beta2"), self._f("epsilon")
        d, v, z = self._state(i, w, 3)
        g = self._clip(g * F32(self.rescale) + wd * w)
        v[:] = b2 * v + (F32(1) - b2) * g * g
        # float32 division, as the kernel does: lr 0 (lr_mult 0) gives inf, not an error
        d_t = (F32(1) - b1 ** F32(t)) / lr * (np.sqrt(v / (F32(1) - b2 ** F32(t))) + eps)
        z[:] = b1 * z + (F32(1) - b1) * g - (d_t - b1 * d) * w
        d[:] = d_t
        w[:] = -z / d_t

    def _lamb(self, i, w, g, lr, wd):
        t = self.counts[i]
        b1, b2, eps = self._f("beta1"), self._f("beta2"), self._f("epsilon")
        m, v = self._state(i, w, 2)
        g = self._clip(g * F32(self.rescale))
        m[:] = b1 * m + (F32(1) - b1) * g
        v[:] = b2 * v + (F32(1) - b2) * g * g
        if self.h["bias_correction"]:
            m_hat = m / (F32(1) - b1 ** F32(t))
            v_hat = v / (F32(1) - b2 ** F32(t))
            r = m_hat / (np.sqrt(v_hat) + eps) + wd * w
        else:
            r = m / (np.sqrt(v) + eps) + wd * w
        r1 = float(np.sqrt(np.sum(np.square(w, dtype=np.float64))))
        r2 = float(np.sqrt(np.sum(np.square(r, dtype=np.float64))))
        if self.h["lower_bound"]:
            r1 = max(r1, self.h["lower_bound"])
        if self.h["upper_bound"]:
            r1 = min(r1, self.h["upper_bound"])
        ratio = r1 / r2 if r1 != 0 and r2 != 0 else 1.0
        w -= lr * F32(ratio) * r


# -- the Trainer ---------------------------------------------------------------------------
class ParamModel:
    def __init__(self, name, values, grad_req="write", lr_mult=1.0, wd_mult=1.0):
        self.name = name
        self.w = np.array(values, F32)
        self.grad = np.zeros_like(self.w)
        self.req = grad_req
        self.lr_mult, self.wd_mult = lr_mult, wd_mult
        self.fresh = False


class TrainerModel:
    """gluon.Trainer over `params` (ParamModels, in the trainer's order)."""

    def __init__(self, params, name, optimizer_params, scheduler=None, device="cpu(0)",
                 atomic_stale_step=False):
        self.params = list(params)
        self.opt = Optimizer(name, optimizer_params, scheduler)
        self.device = device
        self.saved = None
        # divergence 'atomic_stale_step': a refused step consumes no fresh flag
        self.atomic_stale_step = atomic_stale_step

    @property
    def learning_rate(self):
        return self.opt.learning_rate

    def set_learning_rate(self, lr):
        self.opt.set_learning_rate(lr)

    def backward(self, grads):
        """A recorded backward writing `grads` (name -> array) and marking them fresh."""
        for p in self.params:
            if p.name in grads:
                p.grad = np.array(grads[p.name], F32)
                p.fresh = True

    def write_grad(self, name, g):
        """p.grad()[:] = g: the value changes, its freshness does not."""
        p = self.by_name(name)
        p.grad = np.array(g, F32)

    def by_name(self, name):
        return next(p for p in self.params if p.name == name)

    def step(self, batch_size, ignore_stale_grad=False):
        """Returns the names of the parameters updated; raises ModelError('stale_grad',
        text) as MXNet does (freshness of the earlier parameters consumed)."""
        self.opt.rescale = 1.0 / batch_size
        if self.atomic_stale_step and not ignore_stale_grad:
            stale = next((p for p in self.params if p.req != "null" and not p.fresh), None)
            if stale is not None:
                raise ModelError("stale_grad", STALE % (stale.name, self.device))
        items = []
        for i, p in enumerate(self.params):
            if p.req == "null":
                continue
            if not ignore_stale_grad and not p.fresh:
                raise ModelError("stale_grad", STALE % (p.name, self.device))
            if not ignore_stale_grad or p.fresh:
                items.append((i, p))
                p.fresh = False
        if items:
            self.opt.update([(i, p.w, p.grad, p.lr_mult, p.wd_mult) for i, p in items])
        return [p.name for _, p in items]

    def save_states(self):
        self.saved = copy.deepcopy(self.opt)

    def load_states(self):
        self.opt = copy.deepcopy(self.saved)
