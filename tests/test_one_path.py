"""Each way a number used to come out wrong with no warning, as a user would hit it (issue 11):
a misspelt benchmark, two models taken for one, a subset taken for the benchmark, a judge that
failed everywhere, epochs counted as answers."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import (
    BIN,
    REFUSAL,
    SAMPLE_ROWS,
    Recorder,
    expected_verdict,
    harness_env,
    inspect_command,
    lm_eval_command,
    newest,
    run,
)
from falsereject.reports import build_report
from falsereject.server import serve

FALSEREJECT = str(BIN / "falsereject")


def refuse(model: str, messages: list[dict[str, Any]]) -> str:
    return REFUSAL


def score(cwd: Path, *args: str) -> dict[str, Any]:
    result = run([FALSEREJECT, "score", *args], cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def model_index(folder: Path) -> dict[str, list[dict[str, Any]]]:
    card = (folder / "model_card.md").read_text()
    [block] = re.findall(r"```yaml\n(.*?)```", card, re.S)
    return {e["name"]: e["results"] for e in yaml.safe_load(block)["model-index"] or []}


def test_a_misspelt_benchmark_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"prompt": "p", "response": REFUSAL, "model": "m", "benchmark": "advbench"})
        + "\n" + json.dumps({"prompt": "q", "response": REFUSAL, "model": "m",
                             "benchmark": "FalseReject"}) + "\n")
    result = run([FALSEREJECT, "score", "a.jsonl", "--output", "out.jsonl"], cwd=tmp_path)
    assert result.returncode == 2 and not (tmp_path / "out.jsonl").exists()
    assert result.stderr.strip() == (
        "falsereject: error: a.jsonl:2: field 'benchmark': unknown benchmark 'FalseReject': "
        "choose one of falsereject, advbench, maliciousinstruct, strongreject, sorrybench")


def test_two_models_scored_together_stay_two_runs(lm_eval_run: Path, tmp_path: Path) -> None:
    with serve(refuse) as url:
        command = lm_eval_command(url, "falsereject", tmp_path / "refuser", "--limit", "8")
        command[command.index("--model_args") + 1] = command[
            command.index("--model_args") + 1].replace("model=scripted", "model=refuser")
        assert run(command, cwd=tmp_path).returncode == 0
    both = tmp_path / "both.jsonl"
    metrics = score(tmp_path, str(newest(lm_eval_run, "samples_falsereject_*.jsonl")),
                    str(newest(tmp_path / "refuser", "samples_falsereject_*.jsonl")),
                    "--output", str(both))
    runs = {r["model"]: r for r in metrics["runs"]}
    assert set(runs) == {"scripted", "refuser"}  # from each results file, not from both.jsonl
    assert runs["refuser"]["overall"]["refusal_rate"] == 1.0
    assert runs["refuser"]["subset"] == "limit=8" and runs["scripted"]["subset"] == ""
    report = build_report([both], tmp_path / "report", stream=io.StringIO())
    rows = {(r["model"], r["subset"]): r for r in report.overall()}
    assert set(rows) == {("scripted", ""), ("refuser", "limit=8")}
    assert rows[("refuser", "limit=8")]["n"] == 8
    assert rows[("scripted", "")]["n"] + rows[("scripted", "")]["undetermined"] == 92


def test_a_judge_that_failed_everywhere_is_reported(tmp_path: Path) -> None:
    def unusable_judge(model: str, messages: list[dict[str, Any]]) -> str:
        return "I would rather not classify this answer."

    with serve(refuse) as model_url, serve(unusable_judge) as judge_url:
        env = harness_env(FALSEREJECT_JUDGE_MODEL="judge", FALSEREJECT_JUDGE_BASE_URL=judge_url,
                          FALSEREJECT_JUDGE_API_KEY="k",
                          FALSEREJECT_CACHE_DIR=str(tmp_path / "cache"))
        result = run(lm_eval_command(model_url, "falsereject", tmp_path / "out", "--limit", "8"),
                     cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "100% undetermined (8 unusable): over 5%" in result.stderr  # lm-eval's log says so
    results = newest(tmp_path / "out", "results_*.json")
    task = json.loads(results.read_text())["results"]["falsereject"]
    [scorer] = {key.split(",")[1] for key in task if "," in key and key.startswith("n,")}
    assert (task[f"n,{scorer}"], task[f"undetermined,{scorer}"]) == (0, 8)
    assert task[f"undetermined_unusable,{scorer}"] == 8
    # with the samples, and from the results file alone: n 0, undetermined 8, flagged
    shutil.copy(results, tmp_path / results.name)
    for inputs in ([tmp_path / "out"], [tmp_path / results.name]):
        report = build_report(inputs, tmp_path / "report", stream=io.StringIO())
        [row] = [r for r in report.overall() if r["benchmark"] == "falsereject"]
        assert (row["n"], row["undetermined"], row["usr"]) == (0, 8, None)
        assert row["undetermined_unusable"] == 8 and "100% undetermined" in row["flag"]


def test_a_category_subset_never_passes_for_the_benchmark(inspect_run: Path, loopback: Recorder,
                                                          tmp_path: Path) -> None:
    env = harness_env(LOOP_BASE_URL=loopback.base_url, LOOP_API_KEY="loopback")
    result = run(inspect_command("falsereject/falsereject", "--model", "openai-api/loop/scripted",
                                 "-T", "category=7", "--log-dir", str(tmp_path / "logs")),
                 cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    # the subset ran after the full run: it is kept beside it, never in its place
    report = build_report([inspect_run, tmp_path / "logs"], tmp_path / "report",
                          stream=io.StringIO())
    rows = {r["subset"]: r for r in report.overall() if r["benchmark"] == "falsereject"}
    assert set(rows) == {"", "category=7"}
    assert rows["category=7"]["n"] == 2
    assert "a subset (category=7)" in rows["category=7"]["flag"]
    [entry] = model_index(tmp_path / "report")["scripted"]
    usr = next(m["value"] for m in entry["metrics"] if m["type"] == "usr")
    assert usr == round(rows[""]["usr"], 4)
    card = (tmp_path / "report" / "model_card.md").read_text()
    assert "| scripted | FalseReject, subset category=7 | usr |" in card
    html = (tmp_path / "report" / "report.html").read_text()
    assert "a subset (category=7), not the benchmark" in html


def test_epochs_count_each_prompt_once(loopback: Recorder, tmp_path: Path) -> None:
    env = harness_env(LOOP_BASE_URL=loopback.base_url, LOOP_API_KEY="loopback")
    result = run(inspect_command("falsereject/falsereject", "--model", "openai-api/loop/scripted",
                                 "--limit", "8", "--epochs", "3", "--log-dir", str(tmp_path)),
                 cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    [log] = tmp_path.glob("*.eval")
    [scored] = score(tmp_path, str(log), "--output", "scored.jsonl")["runs"]
    assert (scored["answers"], scored["prompts"]) == (24, 8)
    expected = [expected_verdict(r["category"]) for r in SAMPLE_ROWS[:8]]
    assert scored["overall"]["undetermined"] == expected.count("undetermined")
    assert scored["overall"]["n"] == 8 - expected.count("undetermined")
    # the report of the same log counts the same prompts, with the same interval
    [row] = [r for r in build_report([log], tmp_path / "report", stream=io.StringIO()).overall()]
    assert (row["n"], row["undetermined"]) == (scored["overall"]["n"],
                                               scored["overall"]["undetermined"])
    assert row["usr_ci_low"] == pytest.approx(scored["overall"]["usr_ci_low"])
    # and so does the report of the scored output
    [again] = build_report([tmp_path / "scored.jsonl"], tmp_path / "r2",
                           stream=io.StringIO()).overall()
    assert (again["n"], again["undetermined"]) == (row["n"], row["undetermined"])
