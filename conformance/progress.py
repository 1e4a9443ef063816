"""What a run shows while it runs: per group, examples done of the budget, state-machine
steps, elapsed and expected seconds.

A `thorough` group runs for minutes; without this it prints nothing meanwhile.  On a
terminal the display is a progress bar per group (`rich`, which Keras installs; MXNet's
environment lacks it); elsewhere (CI logs, pipes) it is plain lines: one when a group
starts, one every `every` seconds while it runs, one when it ends.

`runner.run_group` reports to a Progress: group_started, example_done (after every
example, shrinking included), note (a clause failed, the group re-runs without it) and
group_finished.  The expected time of a group is the runner's estimate until an example
has finished, then elapsed / examples done * budget.
"""

import sys
import time


def seconds_text(s):
    """Seconds as a person reads them: 42 s, 3 min 05 s."""
    s = max(0.0, s)
    if s < 10:
        return "%.1f s" % s
    return "%.0f s" % s if s < 100 else "%d min %02d s" % divmod(int(round(s)), 60)


class Progress:
    """The silent display (and the interface): every method does nothing."""

    def run_started(self, text):
        pass

    def group_started(self, device, group, index, count, examples, steps, expected):
        pass

    def example_done(self, examples, steps, phase=None):
        pass

    def more_examples(self, examples):
        """The group re-runs (a clause failed): `examples` more in its budget."""
        g = getattr(self, "group", None)
        if g is not None:
            g.budget += examples
            self._budget_changed()

    def _budget_changed(self):
        pass

    def note(self, text):
        pass

    def group_finished(self, seconds, steps, examples):
        pass

    def close(self):
        pass


class _Group:
    """The group running now: what a display prints about it."""

    def __init__(self, device, group, index, count, examples, steps, expected):
        self.device, self.name, self.index, self.count = device, group, index, count
        self.budget, self.max_steps, self.guess = examples, steps, expected
        self.started = time.time()
        self.examples = self.steps = 0
        self.phase = None

    def elapsed(self):
        return time.time() - self.started

    def expected(self):
        """Seconds the whole group should take: the runner's guess until an example has
        run, then what the examples so far took, extrapolated to the budget."""
        if self.examples == 0 or self.phase:
            return max(self.guess, self.elapsed())
        return self.elapsed() / min(self.examples, self.budget) * self.budget

    def label(self):
        return "[%s] %d/%d %s" % (self.device, self.index, self.count, self.name)


class Lines(Progress):
    """Plain lines on `write` (a function of one string): for logs and pipes."""

    def __init__(self, write=None, every=15.0):
        self.write = write or _stderr
        self.every = every
        self.group = None
        self.last = 0.0

    def run_started(self, text):
        self.write(text)

    def group_started(self, device, group, index, count, examples, steps, expected):
        self.group = g = _Group(device, group, index, count, examples, steps, expected)
        self.last = time.time()
        self.write("%s: %d examples of up to %d steps, expected about %s"
                   % (g.label(), examples, steps, seconds_text(expected)))

    def example_done(self, examples, steps, phase=None):
        g = self.group
        if g is None:
            return
        g.examples, g.steps, g.phase = examples, steps, phase
        if time.time() - self.last >= self.every:
            self.last = time.time()
            what = phase or "%d/%d examples" % (min(examples, g.budget), g.budget)
            self.write("%s: %s, %d steps, %s of about %s"
                       % (g.label(), what, steps, seconds_text(g.elapsed()), seconds_text(g.expected())))

    def note(self, text):
        self.write("    " + text)

    def group_finished(self, seconds, steps, examples):
        g = self.group
        self.write("%s: done, %d examples, %d steps in %.1f s"
                   % (g.label() if g else "", examples, steps, seconds))
        self.group = None


class Bars(Progress):
    """A rich progress bar per group on a terminal (stderr); a finished group's bar stays
    as its summary line."""

    def __init__(self, console):
        from rich import progress as rp
        self.console = console
        self.bars = rp.Progress(
            rp.TextColumn("{task.description}", markup=False), rp.BarColumn(bar_width=30),
            rp.MofNCompleteColumn(), rp.TextColumn("examples  {task.fields[steps]:>6} steps"),
            rp.TextColumn("{task.fields[clock]}", markup=False),
            rp.TextColumn("{task.fields[phase]}", markup=False),
            console=console, transient=False, refresh_per_second=4)
        self.bars.start()
        self.group = None
        self.task = None

    def run_started(self, text):
        self.console.print(text, markup=False, highlight=False)

    def _update(self, finished=False):
        g = self.group
        clock = ("%s" % seconds_text(g.elapsed()) if finished
                 else "%s of ~%s" % (seconds_text(g.elapsed()), seconds_text(g.expected())))
        self.bars.update(self.task, completed=min(g.examples, g.budget) if not finished else g.budget,
                         steps=g.steps, clock=clock, phase=("" if finished else g.phase or ""))

    def group_started(self, device, group, index, count, examples, steps, expected):
        self.group = _Group(device, group, index, count, examples, steps, expected)
        self.task = self.bars.add_task("%-28s" % self.group.label(), total=examples, steps=0,
                                       clock="0 s of ~%s" % seconds_text(expected), phase="")

    def example_done(self, examples, steps, phase=None):
        g = self.group
        if g is None:
            return
        g.examples, g.steps, g.phase = examples, steps, phase
        self._update()

    def _budget_changed(self):
        self.bars.update(self.task, total=self.group.budget)

    def note(self, text):
        self.bars.console.print("    " + text, markup=False, highlight=False)

    def group_finished(self, seconds, steps, examples):
        if self.group is None:
            return
        self.group.steps = steps
        self._update(finished=True)
        self.group = None

    def close(self):
        self.bars.stop()


def _stderr(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def for_stderr(quiet=False, bars=None):
    """The display for a run: silent when quiet, bars on a terminal where rich is
    installed (bars=None: decide; False: never), plain lines otherwise."""
    if quiet:
        return Progress()
    if bars is not False:
        try:
            from rich.console import Console
        except ImportError:
            Console = None
        if Console is not None:
            console = Console(stderr=True)
            if console.is_terminal and not console.is_dumb_terminal:
                return Bars(console)
    return Lines()
