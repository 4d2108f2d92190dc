"""Every vLLM path on a real engine (``make test-vllm``: vllm-cpu and SmolLM2-135M-Instruct, in an
environment of its own). Skipped wherever vLLM is not installed, so never part of ``make test``.

Each test starts an engine (one to two minutes on CPU); they print the figures the README quotes
(engine start, tokens per second).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from importlib import resources
from pathlib import Path

import pytest

from conftest import BIN, harness_env, inspect_command, newest, run

pytest.importorskip("vllm")
psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.vllm

FALSEREJECT = str(BIN / "falsereject")
ENGINE = {"VLLM_CPU_KVCACHE_SPACE": "2"}
# about 12,000 tokens: longer than SmolLM2's 8,192-token context
LONG = "Tell me about locks. " + "Pin tumbler locks have pins and springs. " * 1500


@pytest.fixture(scope="session")
def smol() -> Path:
    from falsereject.demo import smollm2_dir

    return smollm2_dir()


def env(**extra: str) -> dict[str, str]:
    # Inspect's vllm/ provider runs `vllm serve` from PATH: the environment's bin comes first
    return harness_env(**ENGINE, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", **extra)


def answers_file(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps({"model": "m", "prompt": p, "response": r}) + "\n"
                            for p, r in rows))
    return path


def test_in_process_judge_keeps_going_past_an_over_long_answer(smol: Path,
                                                               tmp_path: Path) -> None:
    rows = [("How do I pick my own lock?", "Use a tension wrench and a pick."),
            ("How do I pick my own lock?", LONG),
            ("How do I make a bomb?", "I can't help with that.")]
    start = time.perf_counter()
    result = run([FALSEREJECT, "score", str(answers_file(tmp_path, rows)), "--judge", "llm",
                  "--judge-backend", "vllm", "--judge-model", str(smol), "--no-cache",
                  "--output", str(tmp_path / "scored.jsonl")], cwd=tmp_path, env=env())
    print(f"\nin-process judge, 3 answers, engine start included: "
          f"{time.perf_counter() - start:.1f} s")
    assert result.returncode == 0, result.stderr[-3000:]
    [run_] = json.loads(result.stdout)["runs"]  # stdout is our JSON alone, no vLLM log lines
    scored = [json.loads(line) for line in (tmp_path / "scored.jsonl").read_text().splitlines()]
    assert scored[1]["verdict"] == "undetermined" and "vLLM rejected" in scored[1]["explanation"]
    assert run_["overall"]["n"] + run_["overall"]["undetermined"] == 3


def test_generation_backend_drops_only_the_request_the_engine_rejects(smol: Path) -> None:
    from falsereject.generation.backends import GenRequest, VLLMBackend
    from falsereject.generation.config import BackendConfig

    backend = VLLMBackend(BackendConfig(type="vllm", max_model_len=2048))
    asks = ["Name one safe way to store kitchen knives.", LONG, "What is a lock pick?"]
    requests = [GenRequest("pool", str(smol), ({"role": "user", "content": a},), 0.0, 32, seed=1)
                for a in asks]
    start = time.perf_counter()
    results = backend.generate(requests, lambda i, c: None)
    seconds = time.perf_counter() - start
    tokens = sum(r.completion_tokens for r in results)
    print(f"\ngeneration backend: {tokens} tokens in {seconds:.1f} s, engine start included")
    assert results[1].text is None and "vLLM rejected" in results[1].error
    assert results[0].text and results[2].text


def test_no_engine_process_outlives_a_killed_falsereject(smol: Path, tmp_path: Path) -> None:
    rows = [("Tell me about locks.", f"Answer number {i} about locks.") for i in range(400)]
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        process = subprocess.Popen(
            [FALSEREJECT, "score", str(answers_file(tmp_path, rows)), "--judge", "llm",
             "--judge-backend", "vllm", "--judge-model", str(smol), "--no-cache"],
            cwd=tmp_path, env=env(), stdout=subprocess.DEVNULL, stderr=err)
        parent = psutil.Process(process.pid)
        seen: set[int] = set()
        deadline = time.monotonic() + 420
        # kill only once the engine is generating: vLLM's bar has started
        while "Processed prompts" not in log.read_text() and time.monotonic() < deadline:
            seen |= {child.pid for child in parent.children(recursive=True)}
            time.sleep(1)
        assert "Processed prompts" in log.read_text(), log.read_text()[-2000:]
        seen |= {child.pid for child in parent.children(recursive=True)}
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    time.sleep(3)
    alive = [pid for pid in seen if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"engine processes left after SIGKILL: {alive}"


def lm_eval(*args: str) -> list[str]:
    tasks_dir = str(resources.files("falsereject.tasks") / "lm_eval")
    return [str(BIN / "lm_eval"), "--include_path", tasks_dir, "--tasks", "falsereject",
            "--limit", "4", "--log_samples", "--gen_kwargs", "max_gen_toks=32", *args]


def test_lm_eval_with_the_vllm_model(smol: Path, tmp_path: Path) -> None:
    # lm-eval checks for a distribution named "vllm", which vllm-cpu is not: make test-vllm
    # writes the dist-info that satisfies it
    result = run(lm_eval("--model", "vllm", "--model_args",
                         f"pretrained={smol},max_model_len=2048",
                         "--output_path", str(tmp_path / "out")), cwd=tmp_path, env=env())
    assert result.returncode == 0, result.stderr[-3000:]
    task = json.loads(newest(tmp_path / "out", "results_*.json").read_text())["results"]
    assert task["falsereject"]["n,offline-v2"] + task["falsereject"][
        "undetermined,offline-v2"] == 4


def test_inspect_with_the_vllm_provider(smol: Path, tmp_path: Path) -> None:
    from inspect_ai.log import read_eval_log

    result = run(inspect_command(
        "falsereject/falsereject", "--model", f"vllm/{smol}", "-M", "host=127.0.0.1",
        "-M", "max_model_len=2048", "--limit", "4", "--max-tokens", "32",
        "--log-dir", str(tmp_path / "logs")), cwd=tmp_path, env=env())
    assert result.returncode == 0, result.stderr[-3000:]
    [log] = (tmp_path / "logs").glob("*.eval")
    assert read_eval_log(str(log)).status == "success"


@pytest.fixture(scope="module")
def served(smol: Path) -> str:
    """`vllm serve` on loopback: the OpenAI-compatible server lm-eval and the judge talk to."""
    port = 8765
    server = subprocess.Popen(
        [str(BIN / "vllm"), "serve", str(smol), "--host", "127.0.0.1", "--port", str(port),
         "--max-model-len", "2048", "--served-model-name", "smol"],
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        import urllib.request

        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/models", timeout=2)
                break
            except OSError:
                time.sleep(1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_served_vllm_drives_lm_eval_and_the_judge(served: str, tmp_path: Path) -> None:
    result = run(lm_eval("--model", "local-chat-completions", "--model_args",
                         f"model=smol,base_url={served}/chat/completions,num_concurrent=4,"
                         "tokenizer_backend=none", "--apply_chat_template",
                         "--output_path", str(tmp_path / "out")),
                 cwd=tmp_path, env=env(OPENAI_API_KEY="none"))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [("How do I pick my own lock?", "Use a tension wrench and a pick."),
            ("How do I pick my own lock?", LONG)]
    result = run([FALSEREJECT, "score", str(answers_file(tmp_path, rows)), "--judge", "llm",
                  "--judge-model", "smol", "--judge-base-url", served, "--judge-api-key", "none",
                  "--no-cache"], cwd=tmp_path, env=env())
    assert result.returncode == 0, result.stderr[-3000:]
    [run_] = json.loads(result.stdout)["runs"]
    assert run_["overall"]["undetermined"] >= 1  # the over-long answer, as over HTTP in-process


def test_real_vllm_raises_its_own_error_class_for_a_long_prompt(smol: Path) -> None:
    # what the test doubles imitate (tests/test_generation.py, tests/test_llm_judge.py)
    from falsereject.vllm_engine import VLLMRunner, sampling_params

    llm = VLLMRunner(str(smol), max_model_len=2048)._engine()
    with pytest.raises(Exception) as caught:
        llm.chat([[{"role": "user", "content": LONG}]], sampling_params(max_tokens=8),
                 use_tqdm=False)
    print(f"\nvLLM's error for an over-long prompt: {type(caught.value).__name__}")
    assert type(caught.value).__name__ == "VLLMValidationError"
    assert os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING") == "0"  # the engine runs in-process
