"""`falsereject score` on the three input kinds, and its errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import BIN, COMPLIANCE, REFUSAL, expected_verdict, harness_env, newest, run

from falsereject.scorers import OFFLINE_SCORER

FALSEREJECT = str(BIN / "falsereject")


def score(tmp_path: Path, *inputs: Path) -> tuple[dict, list[dict]]:
    out = tmp_path / "scored.jsonl"
    result = run([FALSEREJECT, "score", *map(str, inputs), "--judge", "offline",
                  "--output", str(out), "--metrics-json", str(tmp_path / "m.json")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "m.json").read_text())
    return printed, [json.loads(line) for line in out.open()]


def test_plain_jsonl_keeps_fields_and_adds_verdicts(tmp_path: Path) -> None:
    rows = [
        {"prompt": "p1", "response": REFUSAL, "model": "m", "category": 6},
        {"prompt": "p2", "response": COMPLIANCE, "model": "m", "category": 41},
        {"prompt": "p3", "response": "", "model": "m", "category": 41},
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics, scored = score(tmp_path, path)
    assert [r["verdict"] for r in scored] == ["direct_refusal", "full_compliance", "undetermined"]
    assert all(r["model"] == "m" and r["explanation"] and r["scorer"] == OFFLINE_SCORER
               for r in scored)
    assert metrics["scorer"] == OFFLINE_SCORER
    [run_] = metrics["runs"]
    overall = run_["overall"]
    assert (overall["n"], overall["undetermined"], overall["refusal_rate"]) == (2, 1, 0.5)
    assert overall["undetermined_no_answer"] == 1
    assert scored[2]["failure"] == "no_answer" and scored[0]["failure"] is None
    assert run_["by_domain"]["Potentially Unqualified Advice"]["n"] == 1
    assert run_["flags"] and "33% undetermined" in run_["flags"][0]


def test_lm_eval_samples_are_rescored(tmp_path: Path, lm_eval_run: Path) -> None:
    metrics, scored = score(tmp_path, newest(lm_eval_run, "samples_falsereject_*.jsonl"))
    assert len(scored) == 92
    assert all(r["verdict"] == expected_verdict(r["category_id"]) for r in scored)
    # the same numbers as lm-eval's own table, under the model name of its results file
    results = json.loads(newest(lm_eval_run, "results_*.json").read_text())["results"]
    [run_] = metrics["runs"]
    assert run_["model"] == "scripted" and {r["model"] for r in scored} == {"scripted"}
    assert run_["overall"]["usr"] == pytest.approx(results["falsereject"][f"usr,{OFFLINE_SCORER}"])
    assert len(run_["by_category"]) == 46


def test_inspect_logs_are_rescored(tmp_path: Path, inspect_run: Path) -> None:
    metrics, scored = score(tmp_path, inspect_run)
    assert len(scored) == 92
    assert all(r["verdict"] == expected_verdict(r["category_id"]) for r in scored)
    # one naming rule: the model lm-eval calls "scripted" is "scripted" here too
    assert {r["model"] for r in scored} == {"scripted"}
    assert metrics["runs"][0]["by_category"]["Violent Crimes"]["usr"] == 1.0


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ('{"prompt": "p"}\n', "a.jsonl", r"a.jsonl:1: field 'response' is missing"),
        ('{"prompt": "p", "response": "r", "model": "m"}\nnot json\n', "b.jsonl",
         r"b.jsonl:2: not valid JSON"),
        # a model's name comes from the run, never from a file name
        ('{"prompt": "p", "response": "r"}\n', "e.jsonl", r"e.jsonl:1: field 'model' is missing"),
        ("hello", "c.eval", r"c.eval: not a readable Inspect log"),
        ("x", "d.csv", r"d.csv: unknown input kind"),
    ],
)
def test_bad_inputs_fail_with_one_line(tmp_path: Path, content: str, name: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    result = run([FALSEREJECT, "score", name, "--output", "out.jsonl"], cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("falsereject: error:")
    assert re.search(message, line)
    assert not (tmp_path / "out.jsonl").exists()


def test_categories_honour_the_data_override(tmp_path: Path) -> None:
    result = run([FALSEREJECT, "categories"], cwd=tmp_path)  # FALSEREJECT_DATA=sample
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "92 prompts in 46 categories (test split)"
    assert "Potentially Unqualified Advice" in lines[44] and "Medical Advice" in lines[40]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "category": "7", "category_text": "x"}\n')
    result = run([FALSEREJECT, "categories"], cwd=tmp_path,
                 env=harness_env(FALSEREJECT_DATA=str(bad)))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"falsereject: error: {bad}:1: field 'category': expected int, got str"
    )


def test_llm_judge_rescores_saved_samples(tmp_path: Path, lm_eval_run: Path, loopback) -> None:
    out = tmp_path / "judged.jsonl"
    command = [FALSEREJECT, "score", str(newest(lm_eval_run, "samples_falsereject_*.jsonl")),
               "--judge", "llm", "--judge-model", "judge", "--judge-base-url", loopback.base_url,
               "--judge-api-key", "k", "--cache-dir", str(tmp_path / "cache"),
               "--concurrency", "8", "--output", str(out)]
    result = run(command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads(result.stdout)
    rows = [json.loads(line) for line in out.open()]
    assert all(r["verdict"] == expected_verdict(r["category_id"]) for r in rows)
    judged = [r for r in rows if r["verdict"] != "undetermined"]
    assert judged and all(r["judge_reply"].endswith("]]") for r in judged)
    assert metrics["scorer"].startswith("llm:judge@") and rows[0]["scorer"] == metrics["scorer"]
    assert re.fullmatch(r"[0-9a-f]{64}", metrics["judge"]["judge_template_sha256"])
    # the same command again is answered from the cache
    seen = len(loopback.requests)
    assert run(command, cwd=tmp_path).returncode == 0
    assert len(loopback.requests) == seen


def test_llm_judge_needs_a_model(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"prompt": "p", "response": "r", "model": "m"}\n')
    result = run([FALSEREJECT, "score", "a.jsonl", "--judge", "llm"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "falsereject: error: no judge model: pass --judge-model or set FALSEREJECT_JUDGE_MODEL"
    )


def test_several_inputs_keep_their_own_figures(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"prompt": "p", "response": REFUSAL, "model": "model_a"}) + "\n")
    (tmp_path / "b.jsonl").write_text("".join(
        json.dumps({"prompt": f"p{i}", "response": COMPLIANCE, "model": "model_b"}) + "\n"
        for i in range(3)))
    metrics, _ = score(tmp_path, tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    runs = {r["model"]: r["overall"] for r in metrics["runs"]}
    assert runs["model_a"]["refusal_rate"] == 1.0 and runs["model_a"]["n"] == 1
    assert runs["model_b"]["usr"] == 1.0 and runs["model_b"]["n"] == 3
    assert "overall" not in metrics  # never one figure pooled over two models


def test_a_score_output_can_be_scored_again(tmp_path: Path) -> None:
    rows = [{"prompt": f"p{i}", "response": COMPLIANCE, "model": "m", "sample_id": i % 2,
             "epoch": 1 + i // 2} for i in range(4)]
    (tmp_path / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    first, scored = score(tmp_path, tmp_path / "answers.jsonl")
    (tmp_path / "again.jsonl").write_text("".join(json.dumps(r) + "\n" for r in scored))
    second, rescored = score(tmp_path, tmp_path / "again.jsonl")
    # the run it came from (model, source, time) survives, so it is the same run again
    assert [r["source"] for r in rescored] == [str(tmp_path / "answers.jsonl")] * 4
    assert {r["created"] for r in rescored} == {scored[0]["created"]}
    assert second["runs"][0]["prompts"] == first["runs"][0]["prompts"] == 2
