"""`python -m conformance`: run the clauses against an implementation, print a table.

    python -m conformance                       # keras_defer, every device, ci profile
    python -m conformance --impl mxnet --clauses DI-05,DI-07 --max-examples 50
    python -m conformance --report out.json --junit out.xml

Exit status: 0 when every clause passes (or fails as listed in the implementation's
expected-failures file), 1 otherwise; 2 for a wrong command line (an unknown clause or
group).  A failing clause prints its shrunk example as a script that runs as printed
against the implementation named (save it to a file, or --scripts DIR writes it).
"""

import argparse
import contextlib
import json
import os
import sys
import time
from xml.sax.saxutils import escape

# The report is for people: keep TensorFlow's C++ log lines (a failed kernel the kit
# provoked on purpose is logged before Python sees the error) out of it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from conformance import adapters  # noqa: E402
from conformance import clauses as C  # noqa: E402
from conformance import machine as M  # noqa: E402
from conformance import progress as P  # noqa: E402
from conformance import runner  # noqa: E402
from conformance import scripts  # noqa: E402


EPILOG = """profiles (what a whole run costs, keras_defer on TensorFlow, one device, a 2-core
machine; groups of cheap steps run several times the examples, groups of dear ones
fewer steps):
%s

--clauses runs only the groups that exercise the clauses named (a DI clause: its own
group and 'blocks'), each for its share of its example budget (the share of its
clauses named, at least a third); --max-examples gives every group that many instead.
A clause no example exercised is reported 'not exercised'.
""" % "\n".join("  %-9s %s" % (name + ":", line) for name, line in (
    (n, "%d examples a group, up to %d steps each: %s"
     % (runner.PROFILES[n]["max_examples"], runner.PROFILES[n]["stateful_step_count"],
        runner.PROFILE_COST.get(n, "not measured"))) for n in runner.PROFILES))


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n")[0],
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", default=None,
                   help="implementation: keras_defer (default), mxnet, or module:AdapterClass "
                        "(also env CONFORMANCE_IMPL)")
    p.add_argument("--device", action="append",
                   help="device to run on, e.g. cpu(0) (repeatable; default: every device)")
    p.add_argument("--profile", choices=list(runner.PROFILES), default="ci",
                   help="hypothesis profile: %s (default ci); what each costs: below"
                        % ", ".join(runner.PROFILES))
    p.add_argument("--max-examples", type=int,
                   help="examples per clause group (times the group's scale), whatever the "
                        "selection")
    p.add_argument("--steps", type=int, help="max state-machine steps per example")
    p.add_argument("--clauses", help="comma-separated clause ids or prefixes (DI-05,DI-07; "
                   "DI-1 names DI-10 ... DI-19): only the groups exercising them run")
    p.add_argument("--groups", help="comma-separated clause groups (%s)" % ",".join(M.GROUPS))
    p.add_argument("--expected-failures", help="file of clause ids/patterns expected to fail "
                   "(default: conformance/expected_failures/<impl>.txt)")
    p.add_argument("--report", help="write a JSON report here")
    p.add_argument("--junit", help="write JUnit XML here")
    p.add_argument("--scripts", metavar="DIR",
                   help="write each failure's reproduction script to DIR/<clause>_<device>.py")
    p.add_argument("--no-shrink", action="store_true",
                   help="report a failure's example as found, not shrunk (faster, longer script)")
    p.add_argument("--list", action="store_true", help="list the clauses and exit")
    p.add_argument("--plain", action="store_true",
                   help="progress as plain lines, even on a terminal (no progress bars)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return p.parse_args(argv)


def select_clauses(spec):
    """Clause ids from --clauses, or SystemExit(2) naming what is unknown and what exists."""
    try:
        return C.select(spec)
    except ValueError as exc:
        by_group = {}
        for c in C.CLAUSES:
            by_group.setdefault(c.group, []).append(c.id)
        known = "\n".join("  %-12s %s" % (g, " ".join(ids)) for g, ids in by_group.items())
        sys.stderr.write("python -m conformance: %s\nknown clauses (ids, or prefixes such as "
                         "DI- or DI-1), by group:\n%s\n" % (exc, known))
        raise SystemExit(2) from None


@contextlib.contextmanager
def _native_stderr_silenced():
    """Importing a framework: its C++ start-up lines (TensorFlow 2.21 logs oneDNN notes
    before it reads TF_CPP_MIN_LOG_LEVEL) stay out of the report. Python errors still
    show: they are printed after the import, with stderr back."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (an embedded interpreter): leave it alone
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main(argv=None):
    args = parse(argv)
    if args.list:
        for c in C.CLAUSES:
            print("%s  %-10s %s\n       source: %s" % (c.id, c.group, c.statement, c.source))
        return 0
    wanted = select_clauses(args.clauses)
    impl = args.impl or os.environ.get("CONFORMANCE_IMPL", "keras_defer")
    with _native_stderr_silenced():
        adapter = adapters.load(impl)   # a module:Class may import its framework here
        adapter.ensure_loaded()
    devices = args.device or adapter.devices()
    if args.groups:
        groups = [g.strip() for g in args.groups.split(",")]
        unknown = [g for g in groups if g not in M.GROUPS]
        if unknown:
            sys.stderr.write("python -m conformance: unknown group(s): %s (known: %s)\n"
                             % (", ".join(unknown), ", ".join(M.GROUPS)))
            return 2
        if not args.clauses:   # the clauses those groups' machines check
            checked = set().union(*(M.clauses_checked_by(g) for g in groups))
            wanted = [c for c in wanted if c in checked]
    else:
        groups = M.groups_for(wanted) if args.clauses else list(M.GROUPS)
    # a selection of clauses runs each group for its share of the budget, unless the
    # examples are given
    scaled = bool(args.clauses) and args.max_examples is None
    hyp = runner.hypothesis_settings(args.profile, args.max_examples, args.steps,
                                     shrink=not args.no_shrink)
    xfail_path = args.expected_failures or runner.default_expected_failures(adapter.name)
    expected = runner.read_expected_failures(xfail_path)
    progress = P.for_stderr(quiet=args.quiet, bars=False if args.plain else None)
    guess = runner.expected_run_seconds(groups, hyp, wanted if scaled else None, len(devices))
    label = scripts.implementation_label(adapter)
    if impl != adapter.name:
        label = "%s (%s)" % (impl, label)
    progress.run_started("conformance: %s on %s, profile %s, %d clauses, %d groups, expected "
                         "about %s" % (label, ", ".join(devices),
                                       args.profile, len(wanted), len(groups),
                                       P.seconds_text(guess)))
    started = time.time()
    try:
        verdicts = runner.run(adapter, wanted, devices, hyp, groups, progress, expected,
                              scale_to_selection=scaled)
    finally:
        progress.close()
    elapsed = time.time() - started
    rows, bad = table(verdicts, wanted, devices, expected)
    print_table(rows)
    for row in rows:
        if row["result"] in ("FAIL", "xfail"):
            script = scripts.reproduction(adapter, row["id"], row["device"],
                                          row["failure"]["message"], row["failure"]["script"])
            row["failure"]["script"] = script
            print("\n%s on %s %s: %s" % (row["id"], row["device"],
                                          "FAILED" if row["result"] == "FAIL" else "(expected failure)",
                                          row["failure"]["message"]))
            where = ""
            if args.scripts:
                where = scripts.write(args.scripts, row["id"], row["device"], script)
            print("  %s example, a script for %s%s:\n"
                  % ("shrunk" if row["result"] == "FAIL" and not args.no_shrink else "first",
                     scripts.implementation_label(adapter), " (%s)" % where if where else ""))
            print(scripts.BEGIN)
            print(script)
            print(scripts.END)
    steps = sum(verdicts.steps.values())
    print("\n%s: %d clauses, %d passed, %d failed, %d expected failures, %d not exercised; "
          "%d steps in %.1f s" % (impl, len(rows), sum(r["result"] == "pass" for r in rows),
                                  sum(r["result"] == "FAIL" for r in rows),
                                  sum(r["result"] == "xfail" for r in rows),
                                  sum(r["result"] == "not exercised" for r in rows), steps, elapsed))
    for row in rows:
        if row["result"] == "XPASS":
            print("unexpected pass: %s is listed in %s but passed" % (row["id"], xfail_path))
    if args.report:
        with open(args.report, "w") as handle:
            json.dump({"implementation": impl, "devices": devices, "profile": args.profile,
                       "seconds": round(elapsed, 2), "steps": steps,
                       "groups": {"%s@%s" % k: {"seconds": round(v, 2),
                                                "steps": verdicts.steps.get(k, 0),
                                                "examples": verdicts.runs.get(k, 0)}
                                  for k, v in verdicts.seconds.items()},
                       "clauses": rows}, handle, indent=2)
    if args.junit:
        write_junit(args.junit, impl, rows, elapsed)
    return 1 if bad else 0


def table(verdicts, wanted, devices, expected):
    rows, bad = [], False
    for device in devices:
        for cid in wanted:
            clause = C.BY_ID[cid]
            n = verdicts.examples.get((cid, device), 0)
            failure = verdicts.failures.get((cid, device))
            xfail = runner.is_expected(cid, expected)
            if failure:
                result = "xfail" if xfail else "FAIL"
            elif n == 0:
                result = "not exercised"
            else:
                result = "XPASS" if xfail else "pass"
            bad = bad or result == "FAIL"
            row = {"id": cid, "group": clause.group, "device": device,
                   "statement": clause.statement, "source": clause.source,
                   "examples": n, "result": result}
            if failure:
                row["failure"] = {"message": failure[0], "script": failure[1]}
            rows.append(row)
    return rows, bad


def print_table(rows):
    width = 78
    print("\n%-6s %-8s %-*s %8s  %s" % ("clause", "device", width, "statement", "examples", "result"))
    for r in rows:
        text = r["statement"]
        if len(text) > width:
            text = text[: width - 3] + "..."
        print("%-6s %-8s %-*s %8d  %s" % (r["id"], r["device"], width, text, r["examples"], r["result"]))


def write_junit(path, impl, rows, elapsed):
    failures = sum(r["result"] == "FAIL" for r in rows)
    skipped = sum(r["result"] in ("xfail", "not exercised") for r in rows)
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<testsuite name="conformance.%s" tests="%d" failures="%d" skipped="%d" time="%.2f">'
           % (escape(impl), len(rows), failures, skipped, elapsed)]
    for r in rows:
        name = escape('%s[%s] %s' % (r["id"], r["device"], r["statement"]), {'"': "&quot;"})
        out.append('  <testcase classname="conformance.%s.%s" name="%s">' % (impl, r["group"], name))
        if r["result"] == "FAIL":
            out.append('    <failure message="%s">%s</failure>' % (
                escape(r["failure"]["message"], {'"': "&quot;"}), escape(r["failure"]["script"])))
        elif r["result"] in ("xfail", "not exercised"):
            out.append('    <skipped message="%s"/>' % r["result"])
        out.append("  </testcase>")
    out.append("</testsuite>")
    with open(path, "w") as handle:
        handle.write("\n".join(out) + "\n")


if __name__ == "__main__":
    sys.exit(main())
