"""`lm_eval --tasks falsereject` end to end: the real CLI against the loopback model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from falsereject.metrics import wilson
from falsereject.scorers import OFFLINE_SCORER

from conftest import (
    SAMPLE_ROWS,
    Recorder,
    expected_verdict,
    harness_env,
    lm_eval_command,
    newest,
    run,
)

TASKS = Path(__file__).parents[1] / "tasks" / "lm_eval"


def test_metrics_match_the_scripted_answers(lm_eval_run: Path) -> None:
    results = json.loads(newest(lm_eval_run, "results_*.json").read_text())
    task = results["results"]["falsereject"]
    verdicts = Counter(expected_verdict(r["category"]) for r in SAMPLE_ROWS)
    n = sum(c for v, c in verdicts.items() if v != "undetermined")
    # the filter is named after the scorer, so every number says what produced it
    assert task[f"n,{OFFLINE_SCORER}"] == n
    assert task[f"undetermined,{OFFLINE_SCORER}"] == verdicts["undetermined"]
    assert task[f"undetermined_rate,{OFFLINE_SCORER}"] == pytest.approx(verdicts["undetermined"] / 92)
    assert task[f"compliance_rate,{OFFLINE_SCORER}"] == pytest.approx(verdicts["full_compliance"] / n)
    assert task[f"usr,{OFFLINE_SCORER}"] == pytest.approx(
        (verdicts["full_compliance"] + verdicts["safe_partial_compliance"]) / n
    )
    assert task[f"refusal_rate,{OFFLINE_SCORER}"] == pytest.approx(verdicts["direct_refusal"] / n)
    assert task[f"usr_stderr,{OFFLINE_SCORER}"] > 0  # lm-eval's own standard error of the mean
    low, high = wilson(verdicts["full_compliance"] + verdicts["safe_partial_compliance"], n)
    assert (task[f"usr_ci_low,{OFFLINE_SCORER}"], task[f"usr_ci_high,{OFFLINE_SCORER}"]) == pytest.approx((low, high))


def test_samples_carry_the_verdict_and_its_cue(lm_eval_run: Path) -> None:
    samples = [json.loads(l) for l in newest(lm_eval_run, "samples_falsereject_*.jsonl").open()]
    assert len(samples) == 92
    for sample in samples:
        verdict, explanation = sample["filtered_resps"][0].split(": ", 1)
        assert verdict.split("[")[0] == expected_verdict(sample["doc"]["category_id"])
        assert explanation


def test_generation_is_not_cut_short(lm_eval_run: Path, loopback: Recorder) -> None:
    # the default lm-eval settings stop at a blank line after 256 tokens
    config = json.loads(newest(lm_eval_run, "results_*.json").read_text())["configs"]
    kwargs = config["falsereject"]["generation_kwargs"]
    assert kwargs["until"] == [] and kwargs["max_gen_toks"] >= 2048
    assert kwargs["do_sample"] is False and kwargs["temperature"] == 0.0


def test_gen_kwargs_and_system_instruction_reach_the_model(
    loopback: Recorder, tmp_path: Path
) -> None:
    seen = len(loopback.requests)
    command = lm_eval_command(
        loopback.base_url, "falsereject", tmp_path / "out", "--limit", "2",
        "--system_instruction", "You are a careful assistant.", "--gen_kwargs", "max_gen_toks=77",
    )
    result = run(command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    sent = loopback.requests[seen:]
    assert len(sent) == 2
    assert sent[0]["messages"][0] == {"role": "system", "content": "You are a careful assistant."}
    # no judge configured: the offline scorer is used, and the user is told so once
    assert result.stderr.count("FALSEREJECT_JUDGE_MODEL is not set") == 1
    results = json.loads(newest(tmp_path / "out", "results_*.json").read_text())
    assert results["configs"]["falsereject"]["generation_kwargs"]["max_gen_toks"] == 77


def test_per_category_group_reports_each_category(loopback: Recorder, tmp_path: Path) -> None:
    command = lm_eval_command(loopback.base_url, "falsereject_by_category", tmp_path / "out")
    result = run(command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads(newest(tmp_path / "out", "results_*.json").read_text())["results"]
    for category in range(1, 47):
        sub = results[f"falsereject_c{category:02d}"]
        expected = expected_verdict(category)
        if expected == "undetermined":
            assert sub[f"undetermined,{OFFLINE_SCORER}"] == 2 and f"usr,{OFFLINE_SCORER}" not in sub
        else:
            assert sub[f"n,{OFFLINE_SCORER}"] == 2
            assert sub[f"refusal_rate,{OFFLINE_SCORER}"] == float(expected == "direct_refusal")


def test_category_subtasks_cover_the_taxonomy_once() -> None:
    ids = sorted(yaml.safe_load(p.read_text().replace("!function", ""))["dataset_kwargs"]["category"]
                 for p in (TASKS / "by_category").glob("*.yaml"))
    assert ids == list(range(1, 47))
    group = yaml.safe_load((TASKS / "falsereject_by_category.yaml").read_text())
    assert group["task"] == [f"falsereject_c{i:02d}" for i in range(1, 47)]


def test_llm_judge_when_configured(loopback: Recorder, tmp_path: Path) -> None:
    env = harness_env(FALSEREJECT_JUDGE_MODEL="judge", FALSEREJECT_JUDGE_BASE_URL=loopback.base_url,
                      FALSEREJECT_JUDGE_API_KEY="k", FALSEREJECT_CACHE_DIR=str(tmp_path / "cache"))
    result = run(lm_eval_command(loopback.base_url, "falsereject", tmp_path / "out"),
                 cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "is not set" not in result.stderr
    task = json.loads(newest(tmp_path / "out", "results_*.json").read_text())["results"]["falsereject"]
    [scorer] = {key.split(",", 1)[1] for key in task if "," in key}
    assert scorer.startswith("llm:judge@")  # the judge and its template hash name the filter
    verdicts = Counter(expected_verdict(r["category"]) for r in SAMPLE_ROWS)
    n = sum(c for v, c in verdicts.items() if v != "undetermined")
    assert task[f"n,{scorer}"] == n
    assert task[f"refusal_rate,{scorer}"] == pytest.approx(verdicts["direct_refusal"] / n)
