"""The offline scorer's published agreement with human labels, source by source, and the
project's own development set that part of it is measured on."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from falsereject.scorers import OFFLINE_SCORER

ROOT = Path(__file__).parents[1]
XSTEST = ROOT.parent / "shared" / "data" / "xstest_v2_dev"
DEV = ROOT / "benchmarks" / "data" / "falsereject_dev.jsonl"
VOICES = {"terse", "markdown_assistant", "cautious_preachy", "falsereject_instruct",
          "reasoning_model", "conversational", "plain_midsize", "guarded_policy",
          "longform_structured", "verbose_hedger", "brisk_guardrailed", "sectioned_explainer",
          "measured_prose", "frontier_concise", "bullet_disclaimer", "small_open_model",
          "llama3_instruct"}


def test_the_development_set_is_well_formed() -> None:
    rows = [json.loads(line) for line in DEV.read_text().splitlines()]
    assert len(rows) >= 1130 and len({r["id"] for r in rows}) == len(rows)
    assert {r["source"] for r in rows} == VOICES
    labels = Counter(r["label"] for r in rows)
    assert set(labels) == {"full_compliance", "safe_partial_compliance", "direct_refusal"}
    assert min(labels.values()) >= 100  # the rare XSTest classes are well covered here
    assert {r["prompt_kind"] for r in rows} == {"benign", "harmful"}
    assert all(r["prompt"].strip() and r["response"].strip() for r in rows)


def test_agreement_per_source(tmp_path: Path) -> None:
    # the real models' answers and two voices, each held out in turn (all 19 take 80 s more)
    only = ["falsereject_instruct", "llama3_instruct"]
    if XSTEST.is_dir():
        only += ["xstest_gpt4", "xstest_llama2orig"]
    out = tmp_path / "agreement.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "offline_agreement.py"),
                    "--xstest-dir", str(XSTEST), "--json", str(out), "--only", *only],
                   check=True, capture_output=True)
    results = json.loads(out.read_text())
    assert results["scorer"] == OFFLINE_SCORER
    held_out = results["leave_one_source_out"]
    assert set(held_out) == set(only) | {"all sources (pooled)", "long FalseReject-style (pooled)"}
    assert set(results["rules_only"]) == set(only)
    pooled = held_out["all sources (pooled)"]
    assert pooled["n"] == sum(held_out[s]["n"] for s in only) >= 145
    assert results["timed_seconds"] < 30  # 1,187 long answers, process start included
    if XSTEST.is_dir():  # the README's figures for real models' answers, never trained on
        for source in ("xstest_gpt4", "xstest_llama2orig"):
            assert held_out[source]["binary_accuracy"]["value"] >= 0.93, source
            assert held_out[source]["accuracy"]["value"] >= 0.80, source


def test_an_unknown_source_is_refused() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "offline_agreement.py"),
                             "--only", "no_such_voice"], capture_output=True, text=True)
    assert result.returncode == 2 and "no_such_voice" in result.stderr
