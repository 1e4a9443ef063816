"""Record what MXNet Gluon 1.9.1 prints for the ported d2l chapters (tests/d2l_port/).

Any python runs it, from any directory, on a clone with ../shared beside it:
    python3 tests/mxnet_reference/record_d2l.py [CHAPTER ...]

For each chapter (all of tests/d2l_port/chapters.py's CHAPTERS by default) it
1. turns ../shared/d2l/<chapter>.md into a script with ../shared/tools/d2l-cells (plus the
   one repair chapters.generate_script documents) and stores it as
   tests/d2l_port/scripts/<chapter>.py, the MXNet version; the tests swap mxnet for
   keras_defer themselves, as `d2l-cells --swap` does;
2. runs it cell by cell (tests/d2l_port/runner.py) with MXNet's python, unseeded, and
   stores the transcript as tests/d2l_port/expected/<chapter>.txt (every chapter runs in
   a fresh, empty working directory: read-write writes files where it runs); for
   read-write it also keeps MXNet's mlp.params and the MLP's input and output
   (tests/mxnet_reference/data/d2l_read_write_mlp.params, d2l_read_write_xy.npz);
3. runs it again under other seeds (--seeds, default 1 and 2) and checks that the cells
   whose output changes are listed in chapters.RANDOM, that their masked structure does
   not change and that they pass chapters.VALUE_CHECKS in every run (exit status 1 if not).

The chapter_deep-learning-basics chapters (chapters.ISOLATED) run in a generated layout
(tests/d2l_port/layout.py) and need pandas (< 3), matplotlib and IPython (< 9) in MXNet's
environment: `pip install 'numpy==1.23.5' 'pandas<3' 'matplotlib<3.10' 'ipython<9'` there
(numpy pinned: pip would otherwise upgrade it past what MXNet 1.9.1 supports). The SCALE
chapters also run at full length once (--no-full skips it: ~3 minutes).

MXNet's python: this interpreter if it imports mxnet, else $MXNET_VENV/bin/python or
${XDG_CACHE_HOME:-$HOME/.cache}/mxnet-1.9.1/bin/python, built by ../shared/tools/mxnet-venv
when missing (as that tool and scripts/run_conformance_mxnet.sh find it).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = os.path.join(os.path.dirname(HERE), "d2l_port")
sys.path.insert(0, PORT)

import chapters  # noqa: E402
import layout  # noqa: E402
import runner  # noqa: E402

RUNNER = os.path.join(PORT, "runner.py")


def mxnet_python():
    try:
        import mxnet  # noqa: F401

        return sys.executable
    except ImportError:
        pass
    venv = os.environ.get("MXNET_VENV") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "mxnet-1.9.1")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        builder = os.path.join(chapters.SHARED, "tools", "mxnet-venv")
        python = subprocess.run([builder], check=True, capture_output=True,
                                text=True).stdout.strip()
    return python


def run(python, script, seed=None, name=None, root=None, full=False):
    """The transcript of one run. A chapter of chapters.ISOLATED runs in a fresh working
    directory of the generated layout under root (layout.py), as its SCALE says (or in
    full), with MXNet's sha1 check accepting the generated Fashion-MNIST files."""
    args = [python, RUNNER, script] + (["--seed", str(seed)] if seed is not None else [])
    env = dict(os.environ, PYTHONHASHSEED="0")
    if name in chapters.ISOLATED:
        cwd = layout.chapter_dir(root, name)
        with open(script, encoding="utf-8") as handle:
            text = chapters.runnable_script(handle.read(), name, full=full)
        runnable = os.path.join(cwd, "_%s.py" % name)
        with open(runnable, "w", encoding="utf-8") as handle:
            handle.write(text)
        args = ([python, RUNNER, runnable, "--accept-data", layout.fashion_mnist_root(root)]
                + args[3:])
        env = layout.environment(root, env)
        done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd)
    else:  # a fresh working directory: read-write writes its files where it runs
        with chapters.scratch_directory(name or "chapter") as cwd:
            done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd)
    if done.returncode:
        sys.exit("%s failed:\n%s" % (" ".join(args), done.stderr))
    return done.stdout


# read-write's MLP parameters as MXNet saves them (cell 6's mlp.params), its input x and
# output y (cell 5), for test_d2l_port's cross test: MXNet's file in keras_defer's MLP.
READ_WRITE_PARAMS = os.path.join(HERE, "data", "d2l_read_write_mlp.params")
READ_WRITE_XY = os.path.join(HERE, "data", "d2l_read_write_xy.npz")
_DUMP_READ_WRITE = """
import shutil, sys
import numpy as np
namespace = {"__name__": "__main__"}
exec(compile(open(sys.argv[1], encoding="utf-8").read(), sys.argv[1], "exec"), namespace)
assert (namespace["yclone"] == namespace["y"]).asnumpy().all()
shutil.copyfile("mlp.params", sys.argv[2])
np.savez(sys.argv[3], x=namespace["x"].asnumpy(), y=namespace["y"].asnumpy())
"""


def record_read_write_files(python, script):
    """Run read-write's script straight through (unseeded, as the transcript) in a
    fresh directory and keep its mlp.params, x and y (READ_WRITE_PARAMS, _XY)."""
    with chapters.scratch_directory("read-write") as cwd:
        subprocess.run([python, "-c", _DUMP_READ_WRITE, script, READ_WRITE_PARAMS,
                        READ_WRITE_XY], check=True, cwd=cwd, capture_output=True,
                       env=dict(os.environ, PYTHONHASHSEED="0"))


def full_run_problems(name, reference, full):
    """The cells whose full-length output (no SCALE) differs from the scaled reference in
    what is compared, or fails its value check: SCALE would hide a difference."""
    base, other = runner.parse_transcript(reference), runner.parse_transcript(full)
    problems = []
    for n, text in base.items():
        random = (name, n) in chapters.RANDOM
        if chapters.normalise(text, random) != chapters.normalise(other.get(n, ""), random):
            problems.append("%s cell %d (its full-length run prints another structure)"
                            % (name, n))
        elif (name, n) in chapters.VALUE_CHECKS and chapters.check_values(
                name, n, other.get(n, "")):
            problems.append("%s cell %d (its full-length run fails the value check: %s)"
                            % (name, n, chapters.check_values(name, n, other.get(n, ""))))
    return problems


def varying_cells(name, reference, others):
    """Cells whose output (ids and addresses normalised) differs between the runs, and
    random cells whose structure (chapters.mask_numbers) varies or whose values fail their
    chapters.VALUE_CHECKS entry in one of the runs: the mask or the check is wrong."""
    base = runner.parse_transcript(reference)
    changed, unstable = set(), set()
    for other in others:
        cells = runner.parse_transcript(other)
        for n, text in base.items():
            if chapters.normalise(text) != chapters.normalise(cells.get(n, "")):
                changed.add(n)
            for output in (text, cells.get(n, "")):
                if (name, n) in chapters.VALUE_CHECKS and chapters.check_values(
                        name, n, output):
                    unstable.add(n)
            random = (name, n) in chapters.RANDOM
            if random and (chapters.normalise(text, random) !=
                           chapters.normalise(cells.get(n, ""), random)):
                unstable.add(n)
    return changed, unstable


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=list(chapters.CHAPTERS))
    parser.add_argument("--seeds", default="1,2",
                        help="comma-separated seeds of the runs that find random cells")
    parser.add_argument("--no-full", action="store_true",
                        help="skip the full-length (unSCALEd) run of the SCALE chapters")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="d2l_port_mxnet_")
    layout.make(root)
    try:
        record(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def record(args, root):
    if not os.path.exists(chapters.D2L_CELLS):
        sys.exit("no %s: record_d2l needs ../shared beside the clone" % chapters.D2L_CELLS)
    python = mxnet_python()
    version = subprocess.run(
        [python, "-c", "import mxnet, numpy, sys; print(mxnet.__version__, numpy.__version__,"
         " sys.version.split()[0])"], check=True, capture_output=True, text=True).stdout.split()
    if version[0] != "1.9.1":
        sys.exit("%s has MXNet %s, not 1.9.1" % (python, version[0]))
    os.makedirs(chapters.SCRIPTS, exist_ok=True)
    os.makedirs(chapters.EXPECTED, exist_ok=True)
    provenance_path = os.path.join(chapters.EXPECTED, "provenance.json")
    provenance = {}
    if os.path.exists(provenance_path):
        with open(provenance_path) as handle:
            provenance = json.load(handle)
    provenance.setdefault("chapters", {})
    provenance.update(mxnet=version[0], numpy=version[1], python=version[2],
                      recorder="tests/mxnet_reference/record_d2l.py")
    if any(name in chapters.ISOLATED for name in args.chapters):
        provenance["basics_packages"] = json.loads(subprocess.run(
            [python, "-c", "import json, IPython, matplotlib, pandas; print(json.dumps({"
             "'pandas': pandas.__version__, 'matplotlib': matplotlib.__version__, "
             "'ipython': IPython.__version__}))"],
            check=True, capture_output=True, text=True).stdout)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    unlisted = []
    for name in args.chapters:
        script = chapters.generate_script(name)
        path = chapters.script_path(name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(script)
        reference = run(python, path, name=name, root=root)
        with open(chapters.expected_path(name), "w", encoding="utf-8") as handle:
            handle.write(reference)
        if name == "read-write":
            record_read_write_files(python, path)
        changed, unstable = varying_cells(
            name, reference, [run(python, path, s, name=name, root=root) for s in seeds])
        if name in chapters.SCALE and not args.no_full:
            unlisted += full_run_problems(
                name, reference, run(python, path, name=name, root=root, full=True))
        listed = {n for (chapter, n) in chapters.RANDOM if chapter == name}
        with open(chapters.chapter_source(name), "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        provenance["chapters"][name] = {
            "source": "../shared/d2l/" + chapters.CHAPTERS[name], "source_sha256": digest,
            "cells": len(runner.parse_transcript(reference)),
            "varying_cells": sorted(changed), "seeds": seeds}
        if name in chapters.ISOLATED:
            provenance["chapters"][name]["layout"] = {
                "fashion_mnist_samples": layout.FASHION_MNIST_SIZES,
                "kaggle_rows": layout.KAGGLE_ROWS,
                "scale": chapters.SCALE.get(name, []),
                "full_run_checked": name in chapters.SCALE and not args.no_full}
        print("%-19s %2d cells; vary with the seed: %s; listed random: %s" % (
            name, len(runner.parse_transcript(reference)), sorted(changed) or "-",
            sorted(listed) or "-"))
        for n in sorted(changed - listed):
            unlisted.append("%s cell %d" % (name, n))
        for n in sorted(unstable):
            unlisted.append("%s cell %d (its structure varies or its value check fails)"
                            % (name, n))
        for n in sorted(listed - changed):
            print("    note: cell %d is listed random but did not vary (%s)"
                  % (n, chapters.RANDOM[(name, n)]))
    with open(provenance_path, "w") as handle:
        json.dump(provenance, handle, indent=1, sort_keys=True)
        handle.write("\n")
    if unlisted:
        sys.exit("random cells not covered by chapters.RANDOM: " + ", ".join(unlisted))


if __name__ == "__main__":
    main()
