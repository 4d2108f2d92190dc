"""Runs from lm-eval's ``--output_path`` folders: ``results_<ts>.json`` beside its
``samples_<task>_<ts>.jsonl`` files (written with ``--log_samples``).

The results file names the run (``falsereject.lm_eval_files``); each samples row carries the
judgement in ``filtered_resps[0]`` and the scorer as its ``filter``. Without samples, the
overall counts are rebuilt from the results file's own ``n``, ``undetermined`` and rates, which
our tasks report exactly.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from falsereject.benchmarks import FALSEREJECT, benchmark_of_task, get_benchmark
from falsereject.data import json_objects, run_subset, subset_name
from falsereject.lm_eval_files import RunInfo, parse_judgement, read_results
from falsereject.reports.runs import (
    UNRECORDED,
    Messages,
    ReportError,
    Run,
    Verdict,
    one_per_prompt,
    placed_verdict,
)
from falsereject.verdicts import (
    DIRECT_REFUSAL,
    FAILURES,
    FULL_COMPLIANCE,
    SAFE_PARTIAL_COMPLIANCE,
    UNDETERMINED,
)


def read_run(path: Path, messages: Messages, only: set[str] | None = None) -> list[Run]:
    """Every run of our tasks in one results file (or of the tasks in ``only``)."""
    info = read_results(path)
    tasks = [t for t in info.header["configs"] if only is None or t in only]
    ours = {t: benchmark_of_task(t) for t in tasks}
    for task in sorted(t for t, b in ours.items() if b is None):
        messages.skip(f"{path}: task {task!r} is another task than falsereject's")
    subtasks = [t for t, b in ours.items() if b == FALSEREJECT and t != FALSEREJECT]
    if FALSEREJECT in ours and subtasks:  # the same prompts twice: count them once
        messages.note(f"{path}: the per-category subtasks repeat the {FALSEREJECT!r} task's "
                      "prompts; only the latter is counted")
        ours = {t: b for t, b in ours.items() if t not in subtasks}
    runs: dict[tuple[str, str, str], Run] = {}
    for task, benchmark in sorted((t, b) for t, b in ours.items() if b is not None):
        samples = info.samples_file(task)
        if samples.is_file():
            found = _sample_verdicts(samples, benchmark, info.harness_subset(task))
        else:
            messages.note(f"{path}: no {samples.name} (run without --log_samples?): overall "
                          f"counts of {task!r} rebuilt from the results file, no breakdown")
            found = _counted_verdicts(info, task, benchmark)
        for key, (verdicts, datasets) in found.items():
            run = runs.setdefault(key, _run(info, *key))
            run.answers = str(samples.resolve()) if samples.is_file() else ""
            run.verdicts.extend(verdicts)
            run.datasets.extend(d for d in datasets if d not in run.datasets)
    return list(runs.values())


def _run(info: RunInfo, benchmark: str, scorer: str, subset: str) -> Run:
    return Run(model=info.model, benchmark=benchmark, scorer=scorer, harness=info.version,
               source=str(info.results), created=info.created, verdicts=[], subset=subset)


Found = dict[tuple[str, str, str], tuple[list[Verdict], list[str]]]


def _sample_verdicts(path: Path, benchmark: str, harness_subset: str) -> Found:
    answers: dict[tuple[str, str, str], list[tuple[Any, Verdict]]] = defaultdict(list)
    datasets: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for where, _, row in json_objects(path):
        doc = row.get("doc")
        if not isinstance(doc, dict):
            raise ReportError(f"{where}: field 'doc' is missing or not an object")
        try:
            parsed = parse_judgement(str(row["filtered_resps"][0]))
        except (KeyError, IndexError, TypeError):
            parsed = None
        if parsed is None:
            raise ReportError(f"{where}: field 'filtered_resps' holds no verdict")
        scorer = row.get("filter")
        if not isinstance(scorer, str) or not scorer:
            raise ReportError(f"{where}: field 'filter' (the scorer) is missing")
        bench = get_benchmark(doc.get("benchmark") or benchmark, f"{where}: field 'doc.benchmark'")
        key = (bench.name, scorer, run_subset(str(doc.get("subset") or ""), harness_subset))
        answers[key].append((row.get("doc_id"), placed_verdict(parsed[0], doc, where,
                                                                   parsed[1])))
        dataset = str(doc.get("dataset") or UNRECORDED)
        if dataset not in datasets[key]:
            datasets[key].append(dataset)
    return {key: (one_per_prompt(found), datasets[key]) for key, found in answers.items()}


def _counted_verdicts(info: RunInfo, task: str, benchmark: str) -> Found:
    """Verdicts rebuilt from the aggregated metrics: n, undetermined (by reason) and two rates
    fix them. A run with no verdict at all (n 0) has no rates, and needs none."""
    found: Found = {}
    results = info.header.get("results", {}).get(task, {})
    subset = run_subset(_configured_subset(info, task), info.harness_subset(task))
    for key in results:
        metric, _, scorer = key.partition(",")
        if metric != "n" or not scorer:
            continue
        value = {m: results.get(f"{m},{scorer}") for m in
                 ("n", "undetermined", "compliance_rate", "refusal_rate")}
        n = round(value["n"]) if isinstance(value["n"], (int, float)) else None
        rates_missing = any(not isinstance(value[m], (int, float))
                            for m in ("compliance_rate", "refusal_rate"))
        if n is None or not isinstance(value["undetermined"], (int, float)) or (
                n and rates_missing):
            raise ReportError(f"{info.results}: results of {task!r} lack n, undetermined or "
                              "rates")
        full = round(value["compliance_rate"] * n) if n else 0
        refused = round(value["refusal_rate"] * n) if n else 0
        verdicts = [Verdict(v) for v, count in ((FULL_COMPLIANCE, full), (DIRECT_REFUSAL, refused),
                                                (SAFE_PARTIAL_COMPLIANCE, n - full - refused))
                    for _ in range(count)]
        for reason in FAILURES:
            counted = results.get(f"undetermined_{reason},{scorer}")
            verdicts += [Verdict(UNDETERMINED, failure=reason)] * round(counted or 0)
        unexplained = round(value["undetermined"]) - sum(v.verdict == UNDETERMINED
                                                         for v in verdicts)
        verdicts += [Verdict(UNDETERMINED)] * max(0, unexplained)
        found[(benchmark, scorer, subset)] = (verdicts, [UNRECORDED])
    return found


def _configured_subset(info: RunInfo, task: str) -> str:
    """The subset a task's YAML asked for (its ``dataset_kwargs``), as ``task_rows`` names it."""
    kwargs = (info.header["configs"].get(task) or {}).get("dataset_kwargs") or {}
    return subset_name(kwargs.get("split", "test"), kwargs.get("category"))
