"""Hooks that lm-eval's YAML in ``tasks/lm_eval/`` points at with ``!function``.

Scoring runs as a ``custom`` filter so that a scorer sees every answer at once (the LLM judge
then runs its requests concurrently); ``process_results`` only maps the verdict to per-document
metric values. The scorer is chosen once per process: the LLM judge when
``FALSEREJECT_JUDGE_MODEL`` is set, else the offline detector.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from falsereject.benchmarks import get_benchmark
from falsereject.data import task_rows
from falsereject.lm_eval_files import format_judgement, parse_judgement
from falsereject.metrics import summarize, undetermined_flag, wilson
from falsereject.safety import load_safety_rows
from falsereject.scorers import Scorer, get_scorer
from falsereject.verdicts import NO_ANSWER, RATES, TRANSPORT, UNDETERMINED, UNUSABLE

LOG = logging.getLogger("falsereject")


def _scorer_from_env() -> Scorer:
    from falsereject.scorers.llm_judge import MODEL_ENV

    if os.environ.get(MODEL_ENV):
        return get_scorer("llm")
    LOG.warning("%s is not set: scoring with the offline refusal detector, not the paper's LLM "
                "judge", MODEL_ENV)
    return get_scorer("offline")


SCORER = _scorer_from_env()
# The YAML names its filter with this (`!function` returns any attribute), so lm-eval's results
# table shows which scorer made every number: "offline" or "llm:<model>@<template hash>".
SCORER_NAME = SCORER.name


def load_falsereject(split: str = "test", category: int | None = None, **_: Any) -> Any:
    """``custom_dataset``: FalseReject rows (``$FALSEREJECT_DATA`` honoured) under key ``test``.

    lm-eval also passes its ``--metadata`` here; what we do not use is ignored.
    """
    return _as_dataset(task_rows(split, category))


def load_safety(name: str, **_: Any) -> Any:
    """``custom_dataset`` of a safety task: one set (``$FALSEREJECT_SAFETY_DATA`` honoured)."""
    return _as_dataset(load_safety_rows(name))


def _as_dataset(rows: list[dict[str, Any]]) -> Any:
    import datasets

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def judge_answers(resps: list[list[str]], docs: list[dict]) -> list[str]:
    """``custom`` filter: one judgement per document, on its first answer, written as
    ``"<verdict>: <explanation>"`` (``"undetermined[<reason>]: ..."`` when undetermined), which
    reads well in the samples file and parses back exactly."""
    items = [(doc["prompt"], answers[0] if answers else "")
             for answers, doc in zip(resps, docs, strict=True)]
    judgements = SCORER.judge(items)
    summary = summarize([j.verdict for j in judgements], (), [j.failure for j in judgements])
    flag = undetermined_flag(summary)
    if flag:
        LOG.warning("%s scorer, %d answers: %s", SCORER.name, len(judgements), flag)
    return [format_judgement(j.verdict, j.explanation, j.failure) for j in judgements]


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """Per-document metric values. An undetermined answer counts in ``undetermined`` (and its
    reason) only: leaving the rate keys out keeps it out of those means' denominators. ``n`` is
    always there, so a run whose judge failed on every answer still reports n 0."""
    where = f"lm-eval document {doc.get('prompt', '')[:60]!r}"
    parsed = parse_judgement(results[0])
    if parsed is None:
        raise ValueError(f"{where}: filtered response holds no verdict: {results[0][:80]!r}")
    verdict, failure = parsed
    benchmark = get_benchmark(doc.get("benchmark"), f"{where}: field 'benchmark'")
    undetermined = verdict == UNDETERMINED
    values: dict[str, float] = {
        "n": int(not undetermined), "undetermined": int(undetermined),
        "undetermined_rate": float(undetermined),
        "undetermined_transport": int(failure == TRANSPORT),
        "undetermined_unusable": int(failure == UNUSABLE),
        "undetermined_no_answer": int(failure == NO_ANSWER),
    }
    if undetermined:
        return values
    values |= {rate: float(verdict in RATES[rate]) for rate in benchmark.rates}
    main = values[benchmark.main_rate]
    return {**values, f"{benchmark.main_rate}_ci_low": main,
            f"{benchmark.main_rate}_ci_high": main}


def count(values: list[float]) -> float:
    """Aggregation for the counts."""
    return float(sum(values))


def wilson_low(values: list[float]) -> float:
    """Aggregation: the Wilson 95 % interval's lower end of a rate's 0/1 values."""
    return _wilson(values)[0]


def wilson_high(values: list[float]) -> float:
    return _wilson(values)[1]


def _wilson(values: list[float]) -> tuple[float, float]:
    low, high = wilson(round(sum(values)), len(values))
    return (float("nan"), float("nan")) if low is None else (low, high)
