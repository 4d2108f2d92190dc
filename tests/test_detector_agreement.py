"""The offline scorer's published agreement with human labels, source by source, and the
project's own development set that part of it is measured on."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from falsereject.scorers import OFFLINE_SCORER
from falsereject.scorers.offline_head import HELD_OUT_SET

ROOT = Path(__file__).parents[1]
XSTEST = ROOT.parent / "shared" / "data" / "xstest_v2_dev"
DEV = ROOT / "benchmarks" / "data" / "falsereject_dev.jsonl"
# The voices written as development voices; the others in the file were written as held-out
# voices, in rounds 1 to 14, and joined the training data for offline-v8 (1 to 9), offline-v10
# (10 and 11), offline-v11 (12), offline-v12 (13) and offline-v13 (14).
FIRST_VOICES = {"terse", "markdown_assistant", "cautious_preachy", "falsereject_instruct",
                "reasoning_model", "conversational", "plain_midsize", "guarded_policy",
                "longform_structured", "verbose_hedger", "brisk_guardrailed",
                "sectioned_explainer", "measured_prose", "frontier_concise", "bullet_disclaimer",
                "small_open_model", "llama3_instruct", "llama2_chat", "mistral_instruct",
                "mistral_guardrailed", "claude_prose", "gpt35_turbo", "reasoning_markdown",
                "llama2_system_prompt", "r1_distill", "explanatory_refuser"}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# From round 13 on, a voice has 120 answers, 80 of them to harmful prompts, so that its usr_toxic
# moves in small steps; before, 60 answers, 20 of each verdict (the set's card says so).
LARGE_VOICE = {("harmful", "direct_refusal"): 48, ("harmful", "safe_partial_compliance"): 22,
               ("harmful", "full_compliance"): 10, ("benign", "direct_refusal"): 10,
               ("benign", "safe_partial_compliance"): 14, ("benign", "full_compliance"): 16}


def _voices_as_written(rows: list[dict[str, Any]], sources: set[str]) -> None:
    for source in sources:
        voice = [r for r in rows if r["source"] == source]
        if voice[0]["round"] >= 13:
            assert Counter((r["prompt_kind"], r["label"]) for r in voice) == LARGE_VOICE, source
        else:
            assert sorted(Counter(r["label"] for r in voice).values()) == [20, 20, 20], source


def test_the_development_set_is_well_formed() -> None:
    rows = _rows(DEV)
    assert len(rows) >= 7796 and len({r["id"] for r in rows}) == len(rows)
    dated = {r["source"] for r in rows if "round" in r}
    assert {r["source"] for r in rows} == FIRST_VOICES | dated
    assert len(dated) == 90 and not dated & FIRST_VOICES
    assert {r["round"] for r in rows if "round" in r} == set(range(1, 15))
    _voices_as_written(rows, dated)
    labels = Counter(r["label"] for r in rows)
    assert set(labels) == {"full_compliance", "safe_partial_compliance", "direct_refusal"}
    assert min(labels.values()) >= 100  # the rare XSTest classes are well covered here
    assert {r["prompt_kind"] for r in rows} == {"benign", "harmful"}
    assert all(r["prompt"].strip() and r["response"].strip() for r in rows)


def test_the_held_out_voices_are_apart_from_the_training_data() -> None:
    rows, dev = _rows(HELD_OUT_SET), _rows(DEV)
    sources = {r["source"] for r in rows}
    assert len(sources) >= 6 and not sources & {r["source"] for r in dev}
    assert len({r["id"] for r in rows + dev}) == len(rows) + len(dev)
    assert not {r["prompt"] for r in rows} & {r["prompt"] for r in dev}
    # round 15, first scored by offline-v13 (the data card dates the rounds)
    assert {r["round"] for r in rows} == {15}
    _voices_as_written(rows, sources)


def test_agreement_per_source(tmp_path: Path) -> None:
    # the real models' answers and two voices, each held out in turn (all 28 take a minute more)
    only = ["falsereject_instruct", "llama3_instruct", "grok3", "kimi_k2"]
    if XSTEST.is_dir():
        only += ["xstest_gpt4", "xstest_llama2orig"]
    out = tmp_path / "agreement.json"
    printed = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "offline_agreement.py"),
                              "--xstest-dir", str(XSTEST), "--json", str(out), "--only", *only],
                             check=True, capture_output=True, text=True).stdout
    results = json.loads(out.read_text())
    assert results["scorer"] == OFFLINE_SCORER
    held_out = results["leave_one_source_out"]
    assert set(held_out) == set(only) | {  # grok3 and kimi_k2 were written in rounds 6 and 7
        "all sources (pooled)", "long FalseReject-style (pooled)", "round 6 (pooled)",
        "round 7 (pooled)", "rounds 6-7 (pooled)"}
    assert held_out["rounds 6-7 (pooled)"]["n"] == 120
    assert set(results["rules_only"]) == set(only)
    for rate, chance in results["rate_misses_by_chance"].items():  # the same misses, counted
        assert chance["sources"] == len(only)
        assert chance["observed"] == sum(abs(held_out[s]["rate_error"][rate]["error"]) > 0.03
                                         for s in only)
        assert 0 < chance["expected"] < len(only)
    pooled = held_out["all sources (pooled)"]
    assert pooled["n"] == sum(held_out[s]["n"] for s in only) >= 265
    assert results["timed_seconds"] < 30  # 1,187 long answers, process start included
    fresh = results["held_out_voices"]  # the shipped scorer on voices it never trained on
    held_out_rows = _rows(HELD_OUT_SET)
    assert set(fresh) == {r["source"] for r in held_out_rows} | {"held-out voices (pooled)"}
    assert fresh["held-out voices (pooled)"]["n"] == len(held_out_rows)
    assert fresh["held-out voices (pooled)"]["accuracy"]["value"] >= 0.88
    assert fresh["held-out voices (pooled)"]["binary_accuracy"]["value"] >= 0.92
    # the targets each held-out voice misses, a rate's error also counted in answers
    lines = printed.split("held-out voices:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert {line.split()[0] for line in lines} == {r["source"] for r in held_out_rows}
    for line in lines:
        errors = fresh[line.split()[0]]["rate_error"].items()
        off = [f"{rate} error {e['error']:+.3f} ({round(abs(e['error']) * e['n'])} of {e['n']} "
               f"answers)" for rate, e in errors if abs(e["error"]) > 0.03]
        assert all(o in line for o in off) and not (off and line.endswith(" met")), line
    rounds = results["held_out_rounds"]  # the same answers, pooled by when they were written
    assert set(rounds) == {"round 15"}
    assert rounds["round 15"]["n"] == len(held_out_rows)
    if XSTEST.is_dir():  # the README's figures for real models' answers, never trained on
        for source in ("xstest_gpt4", "xstest_llama2orig"):
            assert held_out[source]["binary_accuracy"]["value"] >= 0.93, source
            assert held_out[source]["accuracy"]["value"] >= 0.80, source


def _benchmark_on_held_out(rows: list[dict[str, Any]], bad: Path
                           ) -> subprocess.CompletedProcess[str]:
    """The benchmark given ``rows`` as its held-out file; 60 s is far less than any training."""
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "offline_agreement.py"),
                           "--held-out", str(bad)], capture_output=True, text=True, timeout=60)


def test_a_voice_in_two_rounds_is_refused_before_any_training(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in HELD_OUT_SET.read_text().splitlines()[:2]]
    rows[1]["round"] = rows[0]["round"] + 1  # the same voice, said to be written twice
    bad = tmp_path / "held_out.jsonl"
    result = _benchmark_on_held_out(rows, bad)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}:2: field 'round': {rows[0]['source']} is in rounds {rows[0]['round']} "
        f"and {rows[1]['round']}"]


def test_a_bad_held_out_label_is_refused_before_any_training(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in HELD_OUT_SET.read_text().splitlines()[:2]]
    rows[1]["label"] = "maybe"
    bad = tmp_path / "held_out.jsonl"
    result = _benchmark_on_held_out(rows, bad)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {bad}:2: field 'label'")


def test_an_unknown_source_is_refused() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "offline_agreement.py"),
                             "--only", "no_such_voice"], capture_output=True, text=True)
    assert result.returncode == 2 and "no_such_voice" in result.stderr
