"""Runs from Inspect logs of our tasks, through the one log reader (``falsereject.inspect_logs``).

The verdict is each answer's score value; several epochs of one prompt are reduced to one
verdict, as everywhere else. ``Score.metadata`` names the scorer and the reason of an
undetermined verdict; sample metadata places the prompt and, in the pooled safety task, names
its benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from falsereject.benchmarks import get_benchmark
from falsereject.data import run_subset
from falsereject.inspect_logs import InspectRun, read_inspect_log
from falsereject.reports.runs import (
    UNRECORDED,
    Messages,
    Run,
    Verdict,
    check_verdict,
    one_per_prompt,
    placed_verdict,
)


def read_log(path: Path, messages: Messages) -> list[Run]:
    """Our runs in one log; an unfinished, failed or foreign log is skipped with its reason."""
    header = read_inspect_log(path, header_only=True)
    if header.benchmark is None:
        messages.skip(f"{path}: a log of another task ({header.task!r})")
        return []
    if header.status != "success":
        reason = f": {header.error}" if header.error else ""
        messages.skip(f"{path}: incomplete run (status {header.status!r}){reason}")
        return []
    log = read_inspect_log(path)
    answers: dict[tuple[str, str, str], list[tuple[Any, Verdict]]] = {}
    runs: dict[tuple[str, str, str], Run] = {}
    unscored = 0
    for answer in log.answers:
        if answer.score is None:
            unscored += 1  # errored before scoring: counted nowhere, said below
            continue
        meta, score = answer.metadata, answer.score
        name = meta.get("benchmark") or header.benchmark
        bench = get_benchmark(name, f"{answer.where}: sample metadata field 'benchmark'").name
        scorer = str((score.metadata or {}).get("scorer") or "unnamed scorer")
        subset = run_subset(str(meta.get("subset") or ""), log.subset)
        key = (bench, scorer, subset)
        run = runs.setdefault(key, _run(log, bench, scorer, subset, score.metadata))
        verdict = check_verdict(score.value, answer.where, "score")
        failure = (score.metadata or {}).get("failure")
        answers.setdefault(key, []).append((answer.sample_id,
                                            placed_verdict(verdict, meta, answer.where,
                                                           failure)))
        dataset = str(meta.get("dataset") or UNRECORDED)
        if dataset not in run.datasets:
            run.datasets.append(dataset)
    for key, run in runs.items():
        run.verdicts = one_per_prompt(answers[key])
    if unscored:
        messages.note(f"{path}: {unscored} answer(s) have no score (errored); left out")
    if not runs:
        messages.skip(f"{path}: no scored samples")
    return list(runs.values())


def _run(log: InspectRun, benchmark: str, scorer: str, subset: str, meta: dict | None) -> Run:
    return Run(
        model=log.model,
        benchmark=benchmark,
        scorer=scorer,
        harness=log.harness,
        source=str(log.path),
        created=log.created,
        verdicts=[],
        judge_template_sha256=(meta or {}).get("judge_template_sha256"),
        subset=subset,
        answers=str(log.path.resolve()),
    )
