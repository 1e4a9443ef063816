"""The reference model of MXNet 1.x's autograd (numpy only, no framework).

A recorded computation is a `Program`: straight-line statements over attached arrays
(variables x0, x1, ...), earlier results (t0, t1, ...) and constants, some of them run
under `autograd.pause()`.  The model evaluates it in float64 and differentiates it in
reverse mode with numpy's derivatives; what it knows of MXNet 1.9.1:

* only operations that read an array in the graph are recorded (AutogradModel); a
  result computed under pause() is a constant;
* `y.backward()` of a head not in the graph raises ('not_in_graph'), as does a second
  backward of the same head (its graph was freed), and so does one whose graph holds
  no variable with grad_req 'write' or 'add' ('no_inputs');
* a non-scalar head's default head gradient is ones;
* 'write' overwrites the gradient buffer of every variable in the head's graph, 'add'
  adds to it; variables outside it keep theirs;
* a 'null' variable takes no gradient (its buffer stays zeros, or None once a backward
  cleared it from the graph).

The two switches (`Switches`) follow autograd.py's _RecordingStateScope: record(),
pause(), train_mode() and predict_mode() set what they set on entry and restore it on
exit.  Divergence 'no_recording' (keras_defer on JAX): record() raises
('no_recording') and changes nothing.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from conformance.model import DIVERGENCES, ModelError

REDUCE = ("sum", "mean")


@dataclass(frozen=True)
class Statement:
    """`out = op(*args)`; args are names (x*, t*, c*) or Python scalars; `axis` for sums."""
    out: str
    op: str
    args: Tuple
    paused: bool = False
    axis: Optional[int] = None


@dataclass(frozen=True)
class Program:
    """Statements; the last one's result is the head."""
    statements: Tuple[Statement, ...]
    constants: Tuple = ()          # (name, values) pairs, created before record()

    @property
    def head(self):
        return self.statements[-1].out

    def variables(self):
        """The variables the program reads, in first-use order."""
        seen = []
        for s in self.statements:
            for a in s.args:
                if isinstance(a, str) and a.startswith("x") and a not in seen:
                    seen.append(a)
        return seen


# -- forward and its derivative ------------------------------------------------------------
def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def forward(op, args, axis=None):
    if op == "add":
        return args[0] + args[1]
    if op == "subtract":
        return args[0] - args[1]
    if op == "multiply":
        return args[0] * args[1]
    if op == "dot":
        return np.dot(args[0], args[1])
    if op == "exp":
        return np.exp(args[0])
    if op == "tanh":
        return np.tanh(args[0])
    if op == "sigmoid":
        return _sigmoid(args[0])
    if op == "relu":
        return np.maximum(args[0], 0)
    if op == "square":
        return args[0] * args[0]
    if op == "negative":
        return -args[0]
    if op in REDUCE:
        out = getattr(np, op)(args[0], axis=axis)
        return np.asarray(out).reshape(np.shape(out) or (1,))   # never 0-d (MXNet 1.x)
    raise ValueError(op)


def _unbroadcast(g, shape):
    """Sum `g` over the axes a broadcast operand of `shape` was stretched along."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, d in enumerate(shape):
        if d == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def vjp(op, args, out, g, axis=None):
    """The gradients of op's arguments given the gradient `g` of its output (None for
    a scalar argument)."""
    if op in ("add", "subtract", "multiply"):
        a, b = args
        ga, gb = {"add": (g, g), "subtract": (g, -g), "multiply": (g * b, g * a)}[op]
        return [_unbroadcast(np.broadcast_to(ga, g.shape), np.shape(a))
                if isinstance(a, np.ndarray) else None,
                _unbroadcast(np.broadcast_to(gb, g.shape), np.shape(b))
                if isinstance(b, np.ndarray) else None]
    if op == "dot":
        return [g @ args[1].T, args[0].T @ g]
    x = args[0]
    if op == "exp":
        return [g * out]
    if op == "tanh":
        return [g * (1 - out * out)]
    if op == "sigmoid":
        return [g * out * (1 - out)]
    if op == "relu":
        return [g * (x > 0)]          # MXNet: the derivative at 0 is 0
    if op == "square":
        return [g * 2 * x]
    if op == "negative":
        return [-g]
    if op in REDUCE:
        whole = axis is None or x.ndim == 1
        full = np.broadcast_to(g.reshape(()) if whole else np.expand_dims(g, axis), x.shape)
        if op == "mean":
            full = full / (x.size if whole else x.shape[axis])
        return [full]
    raise ValueError(op)


@dataclass
class BackwardResult:
    error: Optional[str] = None
    head: Optional[np.ndarray] = None      # the head's value
    grads: Optional[dict] = None           # variable -> gradient of this backward
    reached: Tuple = ()                    # the variables that take a gradient
    graph: frozenset = frozenset()         # the names in the head's graph


class Variable:
    __slots__ = ("values", "req", "grad", "marked")

    def __init__(self, values, req):
        self.values = np.asarray(values, dtype=np.float64)
        self.req = req
        self.grad = np.zeros_like(self.values)   # attach_grad: zeros (also for 'null')
        self.marked = True                       # in MXNet's graph (it has an AGInfo)


@dataclass
class Run:
    """A program's values and the graph MXNet recorded of it."""
    values: dict
    marked: set          # names in the graph
    parents: dict        # recorded result -> the names it was computed from


class AutogradModel:
    """MXNet 1.9.1's Imperative (src/imperative/imperative.cc) on numpy.

    RecordOp records an operation when one of its inputs is in the graph (a marked
    variable, of any grad_req, or a recorded result); its other inputs then join the
    graph as 'null' leaves.  Backward raises when the head is not in the graph
    ('not_in_graph') or when no leaf of its graph is a variable with grad_req other than
    'null' ('no_inputs'); afterwards (retain_graph=False) it clears every node of the
    graph whose grad_req is 'null': the results (so a second backward raises) and the
    'null' variables, which then read x.grad None and are no longer in any graph.
    """

    def __init__(self, divergences=()):
        unknown = set(divergences) - set(DIVERGENCES)
        if unknown:
            raise ValueError("unknown divergences: %s" % sorted(unknown))
        self.divergences = frozenset(divergences)
        self.variables = {}
        self.switches = Switches(self.can_record)

    @property
    def can_record(self):
        return "no_recording" not in self.divergences

    def attach(self, name, values, req):
        """`x = nd.array(values); x.attach_grad(grad_req=req)` (or a re-attach)."""
        self.variables[name] = Variable(values, req)

    def run(self, program, record=True):
        """The program's values and graph (the model's state unchanged)."""
        values = {n: v.values for n, v in self.variables.items()}
        values.update((n, np.asarray(v, dtype=np.float64)) for n, v in program.constants)
        marked = {n for n, v in self.variables.items() if v.marked}
        parents = {}
        for s in program.statements:
            values[s.out] = forward(s.op, [values[a] if isinstance(a, str) else a
                                           for a in s.args], s.axis)
            names = [a for a in s.args if isinstance(a, str)]
            if record and not s.paused and any(a in marked for a in names):
                marked.update(names)
                marked.add(s.out)
                parents[s.out] = names
        return Run(values, marked, parents)

    def execute(self, program, record=True):
        """Run the program as the implementation does: a 'null' variable an operation
        recorded joins the graph again (RecordOp gives it a node), until cleared."""
        run = self.run(program, record)
        for n in run.marked:
            if n in self.variables:
                self.variables[n].marked = True
        return run

    @staticmethod
    def graph_of(run, head):
        """Every name in the head's recorded graph."""
        seen, todo = set(), [head]
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(run.parents.get(n, ()))
        return seen

    def gradients(self, program, head_grad=None, commit=True):
        """d(head . head_grad)/d(variable) for every variable the head's graph holds
        (commit=False: a dry run, the model's state unchanged)."""
        if not self.can_record:
            return BackwardResult(error="no_recording")
        run = self.execute(program) if commit else self.run(program)
        head = run.values[program.head]
        if program.head not in run.marked:
            return BackwardResult(error="not_in_graph", head=head)
        graph = self.graph_of(run, program.head)
        reached = tuple(n for n in program.variables() if n in graph
                        and self.variables[n].req != "null")
        if not reached:
            return BackwardResult(error="no_inputs", head=head, graph=graph)
        adj = {program.head: np.ones_like(head) if head_grad is None
               else np.asarray(head_grad, dtype=np.float64)}
        for s in reversed(program.statements):
            if s.out not in adj or s.out not in run.parents:
                continue
            args = [run.values[a] if isinstance(a, str) else a for a in s.args]
            for a, g in zip(s.args, vjp(s.op, args, run.values[s.out], adj[s.out], s.axis)):
                if isinstance(a, str) and g is not None:
                    adj[a] = adj[a] + g if a in adj else g
        return BackwardResult(head=head, grads={n: adj[n] for n in reached}, reached=reached,
                              graph=graph)

    def clear(self, graph):
        """After a backward without retain_graph: 'null' variables of the graph leave it."""
        for n in graph:
            v = self.variables.get(n)
            if v is not None and v.req == "null":
                v.marked = False

    def backward(self, program, head_grad=None):
        """`y.backward(head_grad)`: the buffers change as grad_req says."""
        result = self.gradients(program, head_grad)
        if result.error is None:
            for name in result.reached:
                v = self.variables[name]
                v.grad = v.grad + result.grads[name] if v.req == "add" else result.grads[name]
            self.clear(result.graph)   # (a refused backward clears nothing)
        return result

    def grad_of(self, name):
        """x.grad: the buffer, or None for a 'null' variable that left the graph."""
        v = self.variables[name]
        return None if v.req == "null" and not v.marked else v.grad


class Switches:
    """is_recording() / is_training() through nested scopes (autograd.py)."""

    def __init__(self, can_record=True):
        self.recording = False
        self.training = False
        self.can_record = can_record
        self.stack = []

    def state(self):
        return self.recording, self.training

    def enter(self, kind, train_mode=None):
        """Enter record(train_mode)/pause(train_mode)/train_mode()/predict_mode()."""
        if kind == "record" and not self.can_record:
            raise ModelError("no_recording", "record() is not available")
        self.stack.append(self.state())
        if kind == "record":
            self.recording, self.training = True, True if train_mode is None else train_mode
        elif kind == "pause":
            self.recording, self.training = False, False if train_mode is None else train_mode
        elif kind == "train_mode":
            self.training = True
        elif kind == "predict_mode":
            self.training = False
        else:
            raise ValueError(kind)

    def exit(self):
        self.recording, self.training = self.stack.pop()
