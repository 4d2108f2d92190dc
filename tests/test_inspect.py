"""`inspect eval falsereject` end to end: the real CLI against the loopback model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from inspect_ai.log import read_eval_log

from conftest import SAMPLE_ROWS, Recorder, expected_verdict, harness_env, inspect_command, run


def test_metrics_and_sample_scores(inspect_run: Path) -> None:
    log = read_eval_log(str(inspect_run))
    assert log.status == "success"  # `inspect eval` exits 0 even when the task fails
    assert log.plan.config.temperature == 0  # greedy by default, as the lm-eval tasks decode
    [scores] = log.results.scores
    metrics = {name: m.value for name, m in scores.metrics.items()}
    expected = [expected_verdict(r["category"]) for r in SAMPLE_ROWS]
    n = sum(v != "undetermined" for v in expected)
    assert metrics["n"] == n and metrics["undetermined"] == expected.count("undetermined")
    assert metrics["usr"] == pytest.approx(
        (expected.count("full_compliance") + expected.count("safe_partial_compliance")) / n
    )
    assert metrics["refusal_rate"] == pytest.approx(expected.count("direct_refusal") / n)
    assert metrics["usr_ci_low"] < metrics["usr"] < metrics["usr_ci_high"]
    # grouped per category and per domain
    assert metrics["Violent Crimes"] == 1.0  # category 7 gets the partial reply: usr 1
    assert "Potentially Unqualified Advice" in metrics
    for sample in log.samples:
        score = sample.scores["falsereject_scorer"]
        assert score.value == expected_verdict(sample.metadata["category_id"])
        assert score.explanation


def test_bare_name_filters_and_system_prompt(loopback: Recorder, tmp_path: Path) -> None:
    seen = len(loopback.requests)
    env = harness_env(LOOP_BASE_URL=loopback.base_url, LOOP_API_KEY="loopback")
    result = run(
        inspect_command("falsereject", "--model", "openai-api/loop/scripted", "-T", "category=6",
                        "-T", "system_prompt=Be brief.", "--log-dir", str(tmp_path)),
        cwd=tmp_path, env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [path] = tmp_path.glob("*.eval")
    log = read_eval_log(str(path))
    assert log.status == "success" and len(log.samples) == 2
    assert {s.metadata["category_name"] for s in log.samples} == {"Self-Harm"}
    assert {s.metadata["subset"] for s in log.samples} == {"category=6"}
    sent = loopback.requests[seen:]
    assert sent[0]["messages"][0]["role"] == "system"
    assert sent[0]["messages"][0]["content"] == "Be brief."


def test_unknown_judge_fails_the_run(loopback: Recorder, tmp_path: Path) -> None:
    env = harness_env(LOOP_BASE_URL=loopback.base_url, LOOP_API_KEY="loopback")
    result = run(inspect_command("falsereject/falsereject", "--model", "openai-api/loop/scripted",
                                 "-T", "judge=psychic", "--log-dir", str(tmp_path)),
                 cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "unknown judge 'psychic': choose one of offline" in result.stderr + result.stdout
    assert not list(tmp_path.glob("*.eval"))  # no run, so no log that could pass for results


def test_llm_judge_uses_the_grader_role(loopback: Recorder, tmp_path: Path) -> None:
    env = harness_env(LOOP_BASE_URL=loopback.base_url, LOOP_API_KEY="loopback")
    result = run(inspect_command("falsereject", "--model", "openai-api/loop/scripted",
                                 "-T", "judge=llm", "--model-role", "grader=openai-api/loop/judge",
                                 "--log-dir", str(tmp_path)), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    log = read_eval_log(str(next(tmp_path.glob("*.eval"))))
    assert log.status == "success"
    for sample in log.samples:
        score = sample.scores["falsereject_scorer"]
        assert score.value == expected_verdict(sample.metadata["category_id"])
        # one naming rule: the judge called "judge" is llm:judge@... from lm-eval and the CLI too
        assert re.fullmatch(r"llm:judge@[0-9a-f]{8}", score.metadata["scorer"])
        if score.value != "undetermined":
            assert score.metadata["judge_reply"].endswith("]]")


def test_llm_judge_without_grader_never_self_grades(loopback: Recorder, tmp_path: Path) -> None:
    env = harness_env(LOOP_BASE_URL=loopback.base_url, LOOP_API_KEY="loopback")
    seen = len(loopback.requests)
    run(inspect_command("falsereject", "--model", "openai-api/loop/scripted", "-T", "judge=llm",
                        "--limit", "4", "--log-dir", str(tmp_path)), cwd=tmp_path, env=env)
    log = read_eval_log(str(next(tmp_path.glob("*.eval"))))
    assert log.status == "error" and "grader" in log.error.message
    judged = [r for r in loopback.requests[seen:] if "[[Direct Refusal]]" in str(r["messages"])]
    assert judged == []
