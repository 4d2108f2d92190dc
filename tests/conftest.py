"""Shared fixtures: a scripted model behind the project's loopback OpenAI-compatible server,
and session-wide harness runs whose outputs several tests read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from falsereject.data import sample_path
from falsereject.safety import sample_dir
from falsereject.server import serve, text_of

BIN = Path(sys.executable).parent
SAMPLE_ROWS = [json.loads(line) for line in sample_path().read_text().splitlines()]
# the bundled safety sample: set name -> rows; a row's behaviour key is its line number
SAFETY_ROWS = {
    path.stem: [json.loads(line) for line in path.read_text().splitlines()]
    for path in sorted(sample_dir().glob("*.jsonl"))
}
# prompt -> behaviour key, whose value mod 4 picks the scripted answer (see expected_verdict)
BEHAVIOUR_OF = {row["prompt"]: row["category"] for row in SAMPLE_ROWS} | {
    row["prompt"]: line for rows in SAFETY_ROWS.values() for line, row in enumerate(rows, 1)
}

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = (
    "Here is a step-by-step explanation.\n\n1. Start by checking the basics and gathering the "
    "facts you need.\n2. Compare the options carefully, noting the costs and the risks.\n"
    "3. Act on the safest option and review the outcome afterwards.\n\nThat covers it."
)
PARTIAL = (
    "I won't go into the harmful part of this request, but the safe side of it is worth "
    "answering. Here is what is useful to know:\n\n1. Learn how the risk arises and who it "
    "affects.\n2. Use the protective measures that professionals recommend.\n3. Know which "
    "services to contact and what information they will need from you.\n4. Keep records of "
    "what happened, with dates, so that others can act on them quickly."
)


JUDGE_LABELS = {REFUSAL: "Direct Refusal", COMPLIANCE: "Full Compliance",
                PARTIAL: "Safe Partial Compliance"}


def scripted_reply(model: str, messages: list[dict[str, Any]]) -> str:
    """A fixed behaviour per category id, or per line of a safety sample file (key % 4), so
    expected metrics can be counted. Asked
    to judge (the judge template lists the bracketed classes), it names the right class."""
    text = text_of(messages[-1])
    if "[[Safe Partial Compliance]]" in text:
        answer = next(a for a in JUDGE_LABELS if a in text)
        return f"The answer speaks for itself.\n\n[[{JUDGE_LABELS[answer]}]]"
    key = BEHAVIOUR_OF.get(text, 1)
    return {0: REFUSAL, 1: COMPLIANCE, 2: "", 3: PARTIAL}[key % 4]


def expected_verdict(key: int) -> str:
    return {
        0: "direct_refusal",
        1: "full_compliance",
        2: "undetermined",
        3: "safe_partial_compliance",
    }[key % 4]


class Recorder:
    """Keeps every request body the scripted model received."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, model: str, messages: list[dict[str, Any]]) -> str:
        self.requests.append({"model": model, "messages": messages})
        return scripted_reply(model, messages)


@pytest.fixture(scope="session")
def loopback() -> Any:
    recorder = Recorder()
    with serve(recorder) as base_url:
        recorder.base_url = base_url
        yield recorder


def harness_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FALSEREJECT_")}
    return {
        **env,
        "FALSEREJECT_DATA": "sample",
        "FALSEREJECT_SAFETY_DATA": "sample",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "INSPECT_DISPLAY": "plain",
        **extra,
    }


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env=env or harness_env(), capture_output=True, text=True, timeout=600
    )


def lm_eval_command(base_url: str, tasks: str, out: Path, *extra: str) -> list[str]:
    tasks_dir = resources.files("falsereject.tasks") / "lm_eval"
    return [
        str(BIN / "lm_eval"),
        "--model", "local-chat-completions",
        "--model_args", f"model=scripted,base_url={base_url}/chat/completions,"
        "num_concurrent=4,tokenizer_backend=none",
        "--tasks", tasks,
        "--include_path", str(tasks_dir),
        "--apply_chat_template",
        "--output_path", str(out),
        "--log_samples",
        *extra,
    ]


@pytest.fixture(scope="session")
def lm_eval_run(loopback: Recorder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real `lm_eval --tasks falsereject` run on the sample; returns its output folder."""
    out = tmp_path_factory.mktemp("lm_eval")
    result = run(lm_eval_command(loopback.base_url, "falsereject", out / "results"), cwd=out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "results"


def inspect_command(*args: str) -> list[str]:
    return [str(BIN / "inspect"), "eval", *args]


@pytest.fixture(scope="session")
def inspect_run(loopback: Recorder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real `inspect eval falsereject/falsereject` run on the sample; returns the log."""
    out = tmp_path_factory.mktemp("inspect")
    env = harness_env(LOOP_BASE_URL=loopback.base_url, LOOP_API_KEY="loopback")
    result = run(
        inspect_command("falsereject/falsereject", "--model", "openai-api/loop/scripted",
                        "--log-dir", str(out / "logs"), "--log-format", "eval"),
        cwd=out, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [log] = list((out / "logs").glob("*.eval"))
    return log


def newest(folder: Path, pattern: str) -> Path:
    found = sorted(folder.rglob(pattern))
    assert found, f"no {pattern} under {folder}"
    return found[-1]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("FALSEREJECT_"):
            monkeypatch.delenv(key)

