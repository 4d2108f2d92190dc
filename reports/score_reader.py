"""Runs from ``falsereject score --output`` files: one row per answer, in the one shape that
``falsereject.scoring`` writes (the record's fields, then verdict, failure, explanation and
scorer). A run is one (model, benchmark, scorer, subset) of one scored input file; epochs of a prompt
are reduced.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from falsereject.benchmarks import get_benchmark
from falsereject.data import json_objects
from falsereject.reports.runs import (
    UNRECORDED,
    ReportError,
    Run,
    Verdict,
    check_verdict,
    one_per_prompt,
    placed_verdict,
)
from falsereject.scoring import SCORED_FIELDS


def is_score_row(row: dict[str, Any]) -> bool:
    return "verdict" in row and "scorer" in row


def read_scored(path: Path) -> list[Run]:
    runs: dict[tuple[str, ...], Run] = {}
    answers: dict[tuple[str, ...], list[tuple[Any, Verdict]]] = {}
    for where, _, row in json_objects(path):
        missing = [f for f in SCORED_FIELDS if f not in row]
        if missing:
            raise ReportError(f"{where}: field {missing[0]!r} is missing (not a falsereject "
                              "score output of this version?)")
        verdict = check_verdict(row["verdict"], where, "verdict")
        for name in ("model", "scorer"):
            if not isinstance(row[name], str) or not row[name]:
                raise ReportError(f"{where}: field {name!r} is empty")
        benchmark = get_benchmark(row["benchmark"], f"{where}: field 'benchmark'").name
        key = (row["model"], benchmark, row["scorer"], str(row["subset"] or ""),
               str(row["source"]))
        run = runs.setdefault(key, Run(
            model=key[0], benchmark=benchmark, scorer=key[2], harness=str(row["harness"]),
            source=f"{path} (scored from {key[4]})", created=_created(row["created"], where),
            verdicts=[], subset=key[3], answers=key[4]))
        answers.setdefault(key, []).append(
            (row["sample_id"], placed_verdict(verdict, row, where, row["failure"])))
        dataset = str(row["dataset"] or UNRECORDED)
        if dataset not in run.datasets:
            run.datasets.append(dataset)
    if not runs:
        raise ReportError(f"{path}: no rows")
    for key, run in runs.items():
        run.verdicts = one_per_prompt(answers[key])
    return list(runs.values())


def _created(stamp: object, where: str) -> datetime:
    try:
        created = datetime.fromisoformat(str(stamp))
    except ValueError:
        raise ReportError(f"{where}: field 'created': not an ISO 8601 time: {stamp!r}") from None
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)
