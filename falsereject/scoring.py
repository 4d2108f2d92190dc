"""``falsereject score``: judge saved answers, write one row per answer, summarise per run.

A *run* is one model's answers to one benchmark (and subset) in one input file. Runs are
summarised apart and never pooled: two models, or two runs of one model, scored together give
two summaries. Epochs of one prompt are reduced
to one verdict (``metrics.reduce_epochs``) before anything is counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from falsereject.benchmarks import display_order, get_benchmark
from falsereject.inputs import FIELDS, Record
from falsereject.metrics import breakdown, reduce_epochs, summarize, undetermined_flag
from falsereject.scorers import Judgement, Scorer

SCORED_FIELDS = (*FIELDS, "verdict", "failure", "explanation", "scorer", "judge_reply")


def score_records(records: Sequence[Record], scorer: Scorer) -> list[dict[str, Any]]:
    """One output row per record: the record's fields, then the judgement's."""
    judgements = scorer.judge([(r.prompt, r.response) for r in records])
    return [scored_row(r, j, scorer.name) for r, j in zip(records, judgements, strict=True)]


def scored_row(record: Record, judgement: Judgement, scorer: str) -> dict[str, Any]:
    return {**record.row(), "verdict": judgement.verdict, "failure": judgement.failure,
            "explanation": judgement.explanation, "scorer": scorer,
            "judge_reply": judgement.raw}


def summary(rows: Sequence[dict[str, Any]], scorer: str, inputs: Sequence[Path],
            judge: dict[str, Any] | None) -> dict[str, Any]:
    """The metrics document: ``runs``, one entry per (model, benchmark, subset, input file),
    each with its overall figure, per domain and per category, and any flags. The same shape
    for every input."""
    runs: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        runs[(row["model"], row["benchmark"], row["subset"], row["source"])].append(row)
    order = sorted(runs, key=lambda k: (k[0], display_order(k[1]), k[2], k[3]))
    return {"scorer": scorer, "judge": judge, "inputs": [str(p) for p in inputs],
            "runs": [_run_summary(*key, runs[key]) for key in order]}


def _run_summary(model: str, benchmark: str, subset: str, source: str,
                 answers: list[dict[str, Any]]) -> dict[str, Any]:
    rates = get_benchmark(benchmark).rates
    prompts = reduce_epochs(answers, lambda r: r["sample_id"], lambda r: r["verdict"])
    overall = summarize([r["verdict"] for r in prompts], rates, [r["failure"] for r in prompts])
    flags = [f for f in (undetermined_flag(overall), f"a subset: {subset}" if subset else "") if f]
    return {
        "model": model, "benchmark": benchmark, "subset": subset, "source": source,
        "answers": len(answers), "prompts": len(prompts),
        "overall": overall,
        "by_domain": breakdown([r for r in prompts if r["domain"]], "domain", rates),
        "by_category": breakdown([r for r in prompts if r["category_name"]], "category_name",
                                 rates),
        "flags": flags,
    }
