"""The conformance kit as a tool people run: `python -m conformance` and the pytest plugin.

A selection of clauses runs only the groups exercising them, for a share of their
budget, and reports only those clauses; an unknown clause is a usage error naming the
known ones; --help says what each profile costs; progress shows per group (plain lines
off a terminal, bars on one); the pytest suite has one item per clause (-k, JUnit per
clause) sharing one run per group; a failure's reproduction script runs as printed
against the implementation named and shows the failure (a bug planted inside
keras_defer, the same in a subprocess), and MXNet's scripts import mxnet.
"""

import ast
import io
import os
import re
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("hypothesis")
pytest_plugins = ("pytester",)

from conformance import __main__ as cli  # noqa: E402
from conformance import adapters, runner, scripts  # noqa: E402
from conformance import clauses as C  # noqa: E402
from conformance import machine as M  # noqa: E402
from conformance import progress as P  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_unknown_clause_is_a_usage_error_listing_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--clauses", "DI-09,DI-999,XX-1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unknown clause(s): DI-999, XX-1" in err
    for c in C.CLAUSES:
        assert c.id in err


def test_help_says_what_each_profile_costs(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for name in ("ci", "dev", "thorough"):
        assert re.search(r"\b%s:\s+\d+ examples a group.*about \d+(\.\d+)? min" % name, out), out


def test_a_selection_runs_its_groups_for_their_share_of_the_budget():
    hyp = runner.hypothesis_settings("ci")
    assert M.groups_for(["DI-19"]) == ["set_data", "blocks"]
    own = [c.id for c in C.CLAUSES if c.group == "set_data"]
    share = runner.selection_share("set_data", ["DI-19"])
    assert share == pytest.approx(1 / len(own))
    # at least MIN_SHARE of the budget, and all of it for every clause of the group
    examples = runner.group_settings("set_data", hyp, share).max_examples
    assert examples == -(-hyp.max_examples * max(share, runner.MIN_SHARE) // 1)
    assert runner.group_settings("set_data", hyp, runner.selection_share("set_data", own)) \
        .max_examples == hyp.max_examples
    # the cheap groups keep their scale
    nd = runner.group_settings("ndarray", hyp, 1.0).max_examples
    assert nd == hyp.max_examples * runner.EXAMPLE_SCALE["ndarray"]


def test_a_selected_clause_alone_is_reported_with_the_groups_it_needs(tmp_path, capsys):
    pytest.importorskip("keras_defer")
    report = tmp_path / "r.json"
    code = cli.main(["--clauses", "DI-22", "--steps", "2", "-q", "--device", "cpu(0)",
                     "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    import json
    data = json.loads(report.read_text())
    assert [r["id"] for r in data["clauses"]] == ["DI-22"]
    assert sorted(data["groups"]) == ["blocks@cpu(0)", "sharing@cpu(0)"]
    hyp = runner.hypothesis_settings("ci")
    budget = runner.group_settings("sharing", hyp, runner.selection_share("sharing", ["DI-22"]))
    assert data["groups"]["sharing@cpu(0)"]["examples"] >= budget.max_examples
    assert "DI-22" in out and "DI-09" not in out


def test_a_clause_no_example_reaches_is_reported_not_exercised():
    verdicts = runner.Verdicts()
    rows, bad = cli.table(verdicts, ["DI-09"], ["cpu(0)"], [])
    assert rows[0]["result"] == "not exercised" and not bad


def test_progress_lines_off_a_terminal():
    pytest.importorskip("keras_defer")
    lines = []
    display = P.Lines(lines.append, every=0)
    hyp = runner.hypothesis_settings("ci", max_examples=3, steps=3)
    verdicts = runner.Verdicts()
    runner.run_group(adapters.load("keras_defer"), "sharing", "cpu(0)", ["DI-22"], hyp,
                     verdicts, display, index=2, count=5)
    assert lines[0].startswith("[cpu(0)] 2/5 sharing: 3 examples of up to 3 steps, expected about")
    assert any(re.search(r"\d+/3 examples, \d+ steps, [\d.]+ s of about [\d.]+ s", line) for line in lines)
    assert re.search(r"done, \d+ examples, \d+ steps in [\d.]+ s", lines[-1])
    assert P.for_stderr(quiet=True).__class__ is P.Progress
    assert isinstance(P.for_stderr(bars=False), P.Lines)


def test_progress_bars_on_a_terminal():
    pytest.importorskip("rich")
    from rich.console import Console
    out = io.StringIO()
    display = P.Bars(Console(file=out, force_terminal=True, width=120))
    display.group_started("cpu(0)", "lifecycle", 1, 15, 30, 12, 4.0)
    for n in range(1, 31):
        display.example_done(n, 10 * n)
    display.group_finished(3.0, 300, 30)
    display.close()
    text = out.getvalue()
    assert "[cpu(0)] 1/15 lifecycle" in text and "30/30" in text and "300 steps" in text


def test_runnable_wraps_what_raised_and_goes_on():
    script = textwrap.dedent("""\
        x = 1
        raise ValueError('first')  # raises
        with open(__file__):
            pass  # raises OSError
        print('reached', x)""")
    text = scripts.runnable(script)
    result = subprocess.run([sys.executable, "-c", text], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "raised ValueError first" in result.stdout and "reached 1" in result.stdout
    # a bodiless `with X:  # raises` gets a body
    assert "pass" in scripts.runnable("with f():  # raises\ny = 2")
    assert scripts.runnable("if x:  # raises") == "if x:  # raises" or \
        compile(scripts.runnable("if x:  # raises"), "s", "exec")


# a semantic bug planted inside keras_defer itself (not in the adapter): every
# initializer call runs twice; the kit's run and the script's subprocess both load it
PLANT = textwrap.dedent("""\
    import keras_defer.init as _init
    _once = _init.Initializer.__call__
    def _twice(self, desc, arr=None, **kwargs):
        if isinstance(desc, str) or hasattr(desc, 'attrs'):
            _once(self, desc, arr, **kwargs)
        return _once(self, desc, arr, **kwargs)
    _twice.planted = _once
    _init.Initializer.__call__ = _twice
    """)


@pytest.fixture
def planted():
    pytest.importorskip("keras_defer")
    import keras_defer.init as kinit
    original = kinit.Initializer.__call__
    exec(PLANT, {})
    try:
        yield
    finally:
        kinit.Initializer.__call__ = original


def _printed_script(out):
    start = out.index(scripts.BEGIN) + len(scripts.BEGIN) + 1
    return out[start:out.index(scripts.END)].rstrip("\n")


def _init_lines(text):
    return [tuple(line.split(" ", 2)[1:]) for line in text.splitlines() if line.startswith("Init ")]


def test_a_failures_script_runs_as_printed_and_reproduces_it(planted, tmp_path, capsys):
    code = cli.main(["--clauses", "DI-09", "--groups", "lifecycle", "--max-examples", "8",
                     "--no-shrink", "-q", "--device", "cpu(0)"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert re.search(r"^DI-09 on cpu\(0\) FAILED: net\(x\) calls the initializer", out, re.M), out
    script = _printed_script(out)
    assert script.startswith("# DI-09 against keras_defer")
    assert "from keras_defer import" in script and "mxnet" not in script
    backend = scripts.keras_backend(adapters.load("keras_defer"))
    assert "# run: KERAS_BACKEND=%s python DI-09_cpu0.py" % backend in script
    path = tmp_path / "DI-09_cpu0.py"
    path.write_text(script + "\n")
    (tmp_path / "plant").mkdir()
    (tmp_path / "plant" / "sitecustomize.py").write_text(PLANT)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(tmp_path / "plant"), ROOT]))
    result = subprocess.run([sys.executable, str(path)], cwd=str(tmp_path), env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    # the failure: the calls the kit saw ('got') are the script's Init lines
    message = re.search(r"^DI-09 on cpu\(0\) FAILED: (.*)$", out, re.M).group(1)
    got = re.search(r"got (\[.*\])", message).group(1)
    seen = _init_lines(result.stdout)
    assert seen == [(name, str(shape)) for name, shape in ast.literal_eval(got)], (seen, got)
    assert len(seen) != len(set(seen)), seen   # each initializer ran twice


def test_the_mxnet_adapters_script_names_mxnet():
    adapter = adapters.load("mxnet")
    script = scripts.reproduction(adapter, "DI-09", "cpu(0)", "calls ...",
                                  "\n".join(adapter.script_header() + ["net = nn.Sequential()"]))
    assert script.startswith("# DI-09 against mxnet")
    assert "from mxnet import init, nd" in script and "keras_defer" not in script
    assert "KERAS_BACKEND" not in script


def test_one_item_per_clause_sharing_one_run_per_group(pytester, monkeypatch):
    pytest.importorskip("keras_defer")
    calls = []
    real = runner.run_group

    def counted(adapter, group, device, *args, **kwargs):
        calls.append(group)
        return real(adapter, group, device, *args, **kwargs)

    monkeypatch.setattr(runner, "run_group", counted)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_inprocess(
        os.path.join(ROOT, "conformance", "test_conformance.py"), "-q", "-p", "no:cacheprovider",
        "-n", "0",  # in this process (setup.cfg asks pytest-xdist for a worker per core)
        "--conformance-clauses", "DI-1", "--conformance-device", "cpu(0)",
        "--conformance-max-examples", "4", "-k", "DI-11 or DI-12", "--junitxml", str(junit))
    result.assert_outcomes(passed=2, deselected=len([c for c in C.select("DI-1")]) - 2)
    # DI-11 and DI-12 (group reinit) both need reinit and blocks: each runs once
    assert sorted(calls) == ["blocks", "reinit"]
    xml = junit.read_text()
    assert 'name="test_clause[DI-11-cpu(0)]"' in xml and 'name="test_clause[DI-12-cpu(0)]"' in xml


PLANTED_MXNET_ADAPTER = textwrap.dedent("""\
    from conformance import recording
    from conformance.adapters.mxnet import MXNetAdapter

    class InitTwice(MXNetAdapter):
        '''The adapter (not MXNet) records every first-pass initializer call twice.'''

        def forward(self, net, shape, device, *args):
            start = len(recording.CALLS)
            out = super().forward(net, shape, device, *args)
            for name, s in recording.CALLS[start:]:
                recording.record(name, s)
            return out
    """)


def test_the_mxnet_adapters_failure_script_runs_as_printed_on_mxnet(tmp_path):
    from tests.mxnet_live import mxnet_python
    python = mxnet_python()
    if python is None:
        pytest.skip("MXNet 1.9.1's side environment is not here (../shared/tools/mxnet-venv)")
    (tmp_path / "planted_mxnet.py").write_text(PLANTED_MXNET_ADAPTER)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "MXNET_HOME": str(tmp_path), "OMP_NUM_THREADS": "2",
           "PYTHONPATH": os.pathsep.join([ROOT, str(tmp_path)])}
    kit = subprocess.run([python, "-m", "conformance", "--impl", "planted_mxnet:InitTwice",
                          "--clauses", "DI-09", "--groups", "lifecycle", "--max-examples", "8",
                          "--no-shrink", "-q"], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=300)
    if "No module named 'hypothesis'" in kit.stderr:
        pytest.skip("MXNet's environment lacks hypothesis (scripts/run_conformance_mxnet.sh adds it)")
    assert kit.returncode == 1, kit.stdout + kit.stderr
    script = _printed_script(kit.stdout)
    assert script.startswith("# DI-09 against mxnet 1.9.1 on cpu(0)")
    assert "from mxnet import init, nd" in script and "keras_defer" not in script
    (tmp_path / "DI-09_cpu0.py").write_text(script + "\n")
    env.pop("PYTHONPATH")   # the script needs MXNet only
    ran = subprocess.run([python, "DI-09_cpu0.py"], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    seen = _init_lines(ran.stdout)
    assert seen and len(seen) == len(set(seen)), seen   # MXNet itself initializes once
