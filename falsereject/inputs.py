"""Saved answers from any source, as records for (re-)scoring, all in one shape.

Three kinds are read: a JSONL of objects with ``prompt`` and ``response``, an lm-eval
``samples_*.jsonl`` (``--log_samples``; the ``results_*.json`` beside it names the model), and
an Inspect log (``.eval`` or ``.json``). Each answer becomes a ``Record``; ``falsereject score``
writes one output row per record with the same fields whatever the input, and reports read
those rows back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from falsereject.benchmarks import FALSEREJECT, get_benchmark
from falsereject.data import DataError, json_objects, with_limit
from falsereject.inspect_logs import read_inspect_log
from falsereject.lm_eval_files import results_for_samples
from falsereject.taxonomy import domain_of

PLAIN = "falsereject score"  # the harness of rows that name none


@dataclass(frozen=True)
class Record:
    model: str
    benchmark: str
    subset: str  # "" for the whole benchmark; else what was filtered (see data.task_rows)
    sample_id: Any  # the prompt's id in its run: epochs of one prompt share it
    epoch: int
    prompt: str
    response: str
    category_id: int | None
    category_name: str | None
    domain: str | None
    dataset: str  # provenance: hub id@revision, "sample", "local:<path>", or "unrecorded"
    harness: str
    source: str  # the input file: answers of two files are never taken for epochs of one
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
    records = []
    for where, number, row in json_objects(path):
        for key in ("prompt", "response"):
            if not isinstance(row.get(key), str):
                raise DataError(f"{where}: field {key!r} is missing or not a string")
        model = row.get("model", path.stem)  # a file of one model's answers names it
        if not isinstance(model, str) or not model:
            raise DataError(f"{where}: field 'model' is not a non-empty string")
        records.append(_record(row, where, model=model, harness=str(row.get("harness", PLAIN)),
                               sample_id=row.get("sample_id", f"{path.name}:{number}"),
                               epoch=row.get("epoch", 1), limit=None))
    return records


def _read_lm_eval_samples(path: Path) -> list[Record]:
    run, _task = results_for_samples(path)
    records = []
    for where, _, row in json_objects(path):
        doc = row.get("doc")
        if not isinstance(doc, dict) or not isinstance(doc.get("prompt"), str):
            raise DataError(f"{where}: lm-eval sample has no field 'doc.prompt'")
        try:
            response = row["resps"][0][0]
        except (IndexError, KeyError, TypeError):
            raise DataError(f"{where}: lm-eval sample has no answer in field 'resps'") from None
        records.append(_record({**doc, "response": str(response)}, where, model=run.model,
                               harness=run.version, sample_id=row.get("doc_id"), epoch=1,
                               limit=run.limit))
    return records


def _read_inspect_log(path: Path) -> list[Record]:
    run = read_inspect_log(path)
    if not run.answers:
        raise DataError(f"{path}: Inspect log has no samples (status: {run.status})")
    return [_record({**a.metadata, "prompt": a.prompt, "response": a.response}, a.where,
                    model=run.model, harness=run.harness, sample_id=a.sample_id, epoch=a.epoch,
                    limit=run.limit)
            for a in run.answers]


def _record(row: dict[str, Any], where: str, *, model: str, harness: str, sample_id: Any,
            epoch: Any, limit: float | None) -> Record:
    benchmark = get_benchmark(row.get("benchmark", FALSEREJECT), f"{where}: field 'benchmark'")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        raise DataError(f"{where}: field 'epoch': expected a positive whole number")
    category_id, category_name = _category(row, where)
    domain = row.get("domain") or (domain_of(category_id) if category_id is not None else None)
    return Record(
        model=model, benchmark=benchmark.name,
        subset=with_limit(str(row.get("subset") or ""), limit),
        sample_id=sample_id, epoch=epoch, prompt=row["prompt"], response=row["response"],
        category_id=category_id, category_name=category_name,
        domain=str(domain) if domain else None,
        dataset=str(row.get("dataset") or "unrecorded"), harness=harness,
        source=where.split("#")[0] if "#" in where else where.rsplit(":", 1)[0], origin=where)


def _category(row: dict[str, Any], where: str) -> tuple[int | None, str | None]:
    """``category_id`` and ``category_name``; FalseReject's own columns (``category`` as the id,
    ``category_text`` as the name) are read too, so its rows can be scored as they are."""
    category_id = row.get("category_id", row.get("category"))
    name = row.get("category_name", row.get("category_text"))
    if isinstance(category_id, str) and name is None:  # a safety set's named category
        category_id, name = None, category_id
    if category_id is not None and (not isinstance(category_id, int)
                                    or isinstance(category_id, bool)):
        raise DataError(f"{where}: field 'category_id': expected a whole number")
    if name is not None and not isinstance(name, str):
        raise DataError(f"{where}: field 'category_name': expected a string")
    return category_id, name
