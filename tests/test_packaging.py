"""What an installed user gets: a light import, and a wheel that lm-eval finds on its own."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

from conftest import harness_env

ROOT = Path(__file__).parents[1]
HEAVY = ("torch", "transformers", "vllm")


def test_imports_load_no_model_framework() -> None:
    code = (
        "import sys, falsereject, falsereject._registry, falsereject.tasks.lm_eval_hooks, "
        "falsereject.cli; falsereject.cli._parser();"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_offline_scoring_loads_no_numpy() -> None:
    # the learned head is plain Python over a JSON file: lm-eval and Inspect workers stay light
    code = ("import sys; from falsereject.scorers import get_scorer;"
            "get_scorer().judge([('q', 'I will not do that.')]); print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_wheel_install_makes_lm_eval_find_the_task(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(ROOT)], check=True, capture_output=True)
    [wheel] = dist.glob("*.whl")
    # A fresh environment holding only the wheel and lm-eval itself; the other dependencies
    # are borrowed from this one through a .pth, so no package index is needed.
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip())
    ours = Path(sysconfig.get_paths()["purelib"])
    (site / "borrowed.pth").write_text(str(ours) + "\n")
    # lm-eval must live in the new environment, because lm-eval scans only its own folder
    subprocess.run(["cp", "-r", str(ours / "lm_eval"), str(site / "lm_eval")], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--ignore-installed", "--prefix", str(env_dir), str(wheel)], check=True)
    probe = (
        "from lm_eval.tasks import TaskManager; import falsereject;"
        "tm = TaskManager(); assert 'falsereject' in tm.all_tasks, 'task not found';"
        "assert {'falsereject_by_category', 'falsereject_safety', 'falsereject_advbench'}"
        " <= set(tm.all_tasks);"
        "from falsereject.safety import load_safety_rows; assert load_safety_rows('advbench');"
        # the offline scorer's head weights travel in the wheel
        "from falsereject.scorers import get_scorer;"
        "[j] = get_scorer().judge([('q', 'I cannot help with that request.')]);"
        "assert j.verdict == 'direct_refusal', j;"
        "print(falsereject.__file__)"
    )
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env=harness_env(PYTHONNOUSERSITE="1"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith(str(site))  # the wheel's copy, not this checkout
