"""``scripts/gpu-check``: its arguments and its graceful refusal without a GPU (no GPU
here; on a GPU machine it runs the kit, the tests and the benchmarks)."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "scripts", "gpu-check")


def _run(args, tmp_path, smi=None):
    env = dict(os.environ)
    if smi is not None:
        env["GPU_CHECK_NVIDIA_SMI"] = smi
    return subprocess.run([sys.executable, SCRIPT, "--out", str(tmp_path / "out")] + args,
                          capture_output=True, text=True, timeout=300, env=env)


def _fake_smi(tmp_path, listing):
    path = tmp_path / "nvidia-smi"
    path.write_text("#!/bin/sh\nprintf '%s'\n" % listing)
    path.chmod(0o755)
    return str(path)


def test_help(tmp_path):
    done = _run(["--help"], tmp_path)
    assert done.returncode == 0
    assert "--backends" in done.stdout and "gpu(0)" in done.stdout or "GPU" in done.stdout


def test_bad_arguments_exit_2_naming_what_is_allowed(tmp_path):
    done = _run(["--backends", "tensorflow"], tmp_path)
    assert done.returncode == 2 and "--backends takes jax and torch" in done.stderr
    done = _run(["--skip", "docs"], tmp_path)
    assert done.returncode == 2 and "--skip takes kit, tests, bench" in done.stderr
    done = _run(["--timeout", "0"], tmp_path)
    assert done.returncode == 2 and "--timeout must be positive" in done.stderr


def test_no_gpu_exits_3_and_runs_nothing(tmp_path):
    done = _run(["--no-install"], tmp_path, smi=str(tmp_path / "no-such-nvidia-smi"))
    assert done.returncode == 3
    assert "no NVIDIA GPU here" in done.stderr
    assert not (tmp_path / "out").exists()
    done = _run(["--no-install"], tmp_path, smi=_fake_smi(tmp_path, ""))
    assert done.returncode == 3


def test_a_gpu_no_backend_sees_exits_4_with_the_table(tmp_path):
    smi = _fake_smi(tmp_path, "GPU 0: NVIDIA Fake (UUID: GPU-0)\\n")
    done = _run(["--no-install", "--dry-run", "--python", sys.executable,
                 "--backends", "jax,torch"], tmp_path, smi=smi)
    # this machine: the backends here see no CUDA device (or are not installed)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "GPU 0: NVIDIA Fake" in done.stdout
    table = done.stdout.split("backend", 1)[1]
    assert "jax" in table and "torch" in table
    assert "none of jax, torch sees a GPU" in done.stderr


def test_dry_run_on_a_gpu_shows_each_step_per_backend(tmp_path):
    smi = _fake_smi(tmp_path, "GPU 0: NVIDIA Fake (UUID: GPU-0)\\n")
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 1\n")  # the probe: one GPU seen
    fake_python.chmod(0o755)
    done = _run(["--dry-run", "--python", str(fake_python), "--quick", "--skip", "bench"],
                tmp_path, smi=smi)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "pip install -q 'keras<3.16'" in out and "--no-deps -e" in out
    for backend in ("jax", "torch"):
        assert ("would run: KERAS_BACKEND=%s %s -m conformance --device 'gpu(0)'"
                % (backend, fake_python)) in out
        assert "KERAS_BACKEND=%s %s -m pytest -q" % (backend, fake_python) in out
    assert "-m benchmarks" not in out
    assert "1 GPU(s)" in out


def test_dry_run_benchmarks_use_the_per_backend_table_without_tensorflow(tmp_path):
    smi = _fake_smi(tmp_path, "GPU 0: NVIDIA Fake (UUID: GPU-0)\\n")
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 1\n")
    fake_python.chmod(0o755)
    done = _run(["--dry-run", "--no-install", "--python", str(fake_python), "--quick",
                 "--backends", "jax"], tmp_path, smi=smi)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "KERAS_BACKEND=jax %s -m benchmarks.backends --json --quick" % fake_python in done.stdout
