"""The one reader of Inspect logs (``.eval`` or ``.json``) of our tasks, for ``falsereject
score`` (which re-judges the answers) and for reports (which read the verdicts).

It returns every answer with its epoch: callers reduce epochs with
``falsereject.metrics.reduce_epochs``, so a prompt answered three times counts once everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from falsereject.benchmarks import benchmark_of_task
from falsereject.data import DataError
from falsereject.naming import inspect_model_name

SCORERS = ("falsereject_scorer", "falsereject_safety_scorer")  # our scorers' names in logs


@dataclass(frozen=True)
class LoggedAnswer:
    sample_id: Any
    epoch: int
    prompt: str
    response: str
    metadata: dict[str, Any]  # the sample's: category_id, category_name, benchmark, ...
    score: Any | None  # our scorer's Score for this epoch; None if the sample errored first
    where: str  # "log#id" (and epoch), for messages


@dataclass
class InspectRun:
    path: Path
    task: str
    benchmark: str | None  # None: another project's task
    status: str
    error: str  # first line of the error message of a failed run
    model: str  # by falsereject's naming rule (no provider prefix)
    created: datetime
    subset: str  # what --limit or --sample-id left out; "" for every sample
    harness: str
    answers: list[LoggedAnswer] = field(default_factory=list)


def read_inspect_log(path: Path, header_only: bool = False) -> InspectRun:
    log = _read(path, header_only)
    run = InspectRun(
        path=path,
        task=log.eval.task,
        benchmark=benchmark_of_task(log.eval.task),
        status=log.status,
        error=_first_line(log.error.message) if log.error else "",
        model=inspect_model_name(log.eval.model),
        created=_created(log.eval.created),
        subset=_harness_subset(log.eval.config),
        harness=f"inspect_ai {log.eval.packages.get('inspect_ai', 'unknown version')}",
    )
    for sample in log.samples or []:
        scores = sample.scores or {}
        ours = next((scores[name] for name in SCORERS if name in scores), None)
        prompt = sample.input if isinstance(sample.input, str) else _last_user_text(sample.input)
        run.answers.append(LoggedAnswer(
            sample_id=sample.id, epoch=sample.epoch, prompt=prompt,
            response=sample.output.completion, metadata=dict(sample.metadata or {}),
            score=ours, where=f"{path}#{sample.id}" + (f"@{sample.epoch}" if sample.epoch > 1
                                                       else "")))
    return run


def _harness_subset(config: Any) -> str:
    parts = []
    if config.limit:  # a count, or a (start, end) range
        limit = config.limit
        parts.append(f"limit={'-'.join(map(str, limit)) if isinstance(limit, (tuple, list)) else limit}")
    if config.sample_id:
        ids = config.sample_id if isinstance(config.sample_id, list) else [config.sample_id]
        parts.append(f"sample_id={','.join(map(str, ids))}")
    return ", ".join(parts)


def _read(path: Path, header_only: bool) -> Any:
    from inspect_ai.log import read_eval_log

    try:
        return read_eval_log(str(path), header_only=header_only)
    except Exception as err:  # zip, JSON or schema errors all mean "not a log we can read"
        raise DataError(f"{path}: not a readable Inspect log ({type(err).__name__})") from None


def _last_user_text(messages: list[Any]) -> str:
    users = [m for m in messages if getattr(m, "role", "") == "user"]
    return users[-1].text if users else ""


def _created(stamp: str) -> datetime:
    created = datetime.fromisoformat(stamp)
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "no message"
