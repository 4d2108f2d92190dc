"""Saved answers from any source, as records for (re-)scoring, all in one shape.

Three kinds are read: a JSONL of objects with ``prompt``, ``response`` and ``model`` (a
``falsereject score`` output is one), an lm-eval ``samples_*.jsonl`` (``--log_samples``; the
``results_*.json`` beside it names the model), and an Inspect log (``.eval`` or ``.json``).
Each answer becomes a ``Record``; ``falsereject score`` writes one output row per record with
the same fields whatever the input, and reports read those rows back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from falsereject.benchmarks import FALSEREJECT, get_benchmark
from falsereject.data import DataError, category_fields, json_objects, run_subset
from falsereject.inspect_logs import read_inspect_log
from falsereject.lm_eval_files import results_for_samples
from falsereject.taxonomy import domain_of

PLAIN = "falsereject score"  # the harness of rows that name none


@dataclass(frozen=True)
class Record:
    model: str
    benchmark: str
    subset: str  # "" for the whole benchmark; else what was left out (data.subset_name ...)
    sample_id: Any  # the prompt's id in its run: epochs of one prompt share it
    epoch: int
    prompt: str
    response: str
    category_id: int | None
    category_name: str | None
    domain: str | None
    dataset: str  # provenance: hub id@revision, "sample", "local:<path>", or "unrecorded"
    harness: str  # what answered: "lm-eval 0.4.13", "inspect_ai 0.3.285", ...
    created: str  # when the harness ran (ISO 8601): the newest of duplicate runs wins
    source: str  # the run's file: answers of two files are never taken for epochs of one
    origin: str  # "file:line" or "log#sample-id", for messages

    def row(self) -> dict[str, Any]:
        return asdict(self)


FIELDS = tuple(Record.__dataclass_fields__)


def read_records(path: Path) -> list[Record]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix in (".eval", ".json"):
        return _read_inspect_log(path)
    if path.suffix == ".jsonl":
        records = (_read_lm_eval_samples(path) if path.name.startswith("samples_")
                   else _read_plain(path))
        if not records:
            raise DataError(f"{path}: no rows")
        return records
    raise DataError(f"{path}: unknown input kind; expected .jsonl, .eval or .json")


def _read_plain(path: Path) -> list[Record]:
    modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat()
    records = []
    for where, number, row in json_objects(path):
        for key in ("prompt", "response"):
            if not isinstance(row.get(key), str):
                raise DataError(f"{where}: field {key!r} is missing or not a string")
        if not isinstance(row.get("model"), str) or not row["model"]:
            raise DataError(f"{where}: field 'model' is missing: name the model that answered")
        # a rescored `falsereject score` output keeps the run it came from
        rescored = "verdict" in row and "scorer" in row and isinstance(row.get("source"), str)
        records.append(_record(row, where, model=row["model"],
                               harness=str(row.get("harness", PLAIN)),
                               sample_id=row.get("sample_id", number), epoch=row.get("epoch", 1),
                               created=str(row.get("created") or modified),
                               source=row["source"] if rescored else str(path.resolve()),
                               harness_subset=""))
    return records


def _read_lm_eval_samples(path: Path) -> list[Record]:
    run, task = results_for_samples(path)
    model, created = run.model, run.created.isoformat()
    records = []
    for where, _, row in json_objects(path):
        doc = row.get("doc")
        if not isinstance(doc, dict) or not isinstance(doc.get("prompt"), str):
            raise DataError(f"{where}: lm-eval sample has no field 'doc.prompt'")
        try:
            response = row["resps"][0][0]
        except (IndexError, KeyError, TypeError):
            raise DataError(f"{where}: lm-eval sample has no answer in field 'resps'") from None
        records.append(_record({**doc, "response": str(response)}, where, model=model,
                               harness=run.version, sample_id=row.get("doc_id"), epoch=1,
                               created=created, source=str(path.resolve()),
                               harness_subset=run.harness_subset(task)))
    return records


def _read_inspect_log(path: Path) -> list[Record]:
    run = read_inspect_log(path)
    if not run.answers:
        raise DataError(f"{path}: Inspect log has no samples (status: {run.status})")
    return [_record({**a.metadata, "prompt": a.prompt, "response": a.response}, a.where,
                    model=run.model, harness=run.harness, sample_id=a.sample_id, epoch=a.epoch,
                    created=run.created.isoformat(), source=str(path.resolve()),
                    harness_subset=run.subset)
            for a in run.answers]


def _record(row: dict[str, Any], where: str, *, model: str, harness: str, sample_id: Any,
            epoch: Any, created: str, source: str, harness_subset: str) -> Record:
    benchmark = get_benchmark(row.get("benchmark", FALSEREJECT), f"{where}: field 'benchmark'")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        raise DataError(f"{where}: field 'epoch': expected a positive whole number")
    category_id, category_name = category_fields(row, where)
    domain = row.get("domain") or (domain_of(category_id) if category_id is not None else None)
    return Record(
        model=model, benchmark=benchmark.name,
        subset=run_subset(str(row.get("subset") or ""), harness_subset),
        sample_id=sample_id, epoch=epoch, prompt=row["prompt"], response=row["response"],
        category_id=category_id, category_name=category_name,
        domain=str(domain) if domain else None,
        dataset=str(row.get("dataset") or "unrecorded"), harness=harness, created=created,
        source=source, origin=where)
