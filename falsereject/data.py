"""FalseReject rows from the hub (pinned revision), a local copy, or the bundled sample.

Every source goes through one validating JSONL reader, so a bad row fails the same way wherever
it came from: one line naming the file, the line and the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from falsereject.benchmarks import FALSEREJECT
from falsereject.taxonomy import domain_of

HUB_REPO = "AmazonScience/FalseReject"
HUB_REVISION = "493ba967714ea54c6f01067e1f61e389cc2c9b3e"  # pinned; see README "Data"
DATA_ENV = "FALSEREJECT_DATA"
SAMPLE = "sample"  # FALSEREJECT_DATA=sample selects the bundled sample (test split only)
SPLITS = ("test", "train")


class DataError(ValueError):
    """A data source or row is unusable; the message is one line naming file, line and field."""


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    domain: str


def sample_path() -> Path:
    """The bundled sample written by this project: a demo and test fixture, not the benchmark."""
    return Path(str(resources.files("falsereject") / "samples" / "falsereject_sample_test.jsonl"))


def resolve_source(split: str = "test", source: str | None = None) -> Path:
    """The JSONL file holding ``split``: ``source`` or ``$FALSEREJECT_DATA``, else the hub."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    value = source if source is not None else os.environ.get(DATA_ENV, "")
    if not value:
        return _hub_file(split)
    if value == SAMPLE:
        if split != "test":
            raise DataError(f"{DATA_ENV}=sample: the bundled sample has only a test split")
        return sample_path()
    path = Path(value).expanduser()
    if path.is_dir():
        if not (path / f"{split}.jsonl").is_file():
            raise DataError(f"{DATA_ENV}={value}: directory has no {split}.jsonl")
        return path / f"{split}.jsonl"
    if path.is_file():
        return path
    raise DataError(f"{DATA_ENV}={value}: no such file or directory")


def load_rows(split: str = "test", source: str | None = None) -> list[dict[str, Any]]:
    """Validated rows of ``split``, each with its SORRY-Bench ``domain`` added."""
    return read_jsonl(resolve_source(split, source), split)


def describe_source(split: str = "test", source: str | None = None) -> str:
    """A short provenance string for outputs and reports: hub id at its revision, the bundled
    sample, or the local file."""
    value = source if source is not None else os.environ.get(DATA_ENV, "")
    if not value:
        return f"{HUB_REPO}@{HUB_REVISION}"
    if value == SAMPLE:
        return SAMPLE
    return f"local:{resolve_source(split, source)}"


def task_rows(split: str = "test", category: str | int | None = None) -> list[dict[str, Any]]:
    """What both harnesses evaluate: each prompt with its category, domain and provenance,
    optionally one category only (by id, ``7``, or name, ``Self-Harm``).

    ``subset`` names what sets the rows apart from the benchmark (the train split, a category
    filter); it is empty for the whole test split, and outputs and reports carry it along.
    """
    rows = load_rows(split)
    if category is not None:
        wanted = str(category).strip().lower()
        rows = [r for r in rows if wanted in (str(r["category"]), r["category_text"].lower())]
        if not rows:
            raise DataError(f"category {category!r} matches no row of the {split} split")
    subset = subset_name(split, rows[0]["category"] if category is not None else None)
    dataset = describe_source(split)
    # the train split's nested cot_response is left out: the tasks only read the prompt
    return [{"prompt": r["prompt"], "category_id": r["category"],
             "category_name": r["category_text"], "domain": r["domain"],
             "benchmark": FALSEREJECT, "dataset": dataset, "subset": subset}
            for r in rows]


def json_objects(path: Path) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(where, line number, object)`` per non-blank line; a broken line is a DataError."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
            yield where, number, row


def read_jsonl(path: Path, split: str = "test") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    names: dict[int, tuple[str, int]] = {}  # category id -> (name, first line), for consistency
    for where, number, row in json_objects(path):
        _validate(row, split, where)
        first = names.setdefault(row["category"], (row["category_text"], number))
        if first[0] != row["category_text"]:
            raise DataError(
                f"{where}: field 'category_text': {row['category_text']!r} differs from "
                f"{first[0]!r} given for category {row['category']} on line {first[1]}"
            )
        rows.append({**row, "domain": domain_of(row["category"])})
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def categories(rows: list[dict[str, Any]]) -> dict[int, Category]:
    """The category map as the data defines it, ordered by id."""
    found = {row["category"]: row["category_text"] for row in rows}
    return {i: Category(i, found[i], domain_of(i)) for i in sorted(found)}


_TEST_FIELDS: dict[str, type] = {"prompt": str, "category": int, "category_text": str}
_TRAIN_FIELDS: dict[str, type] = {**_TEST_FIELDS, "instruct_response": str, "cot_response": dict}


def _validate(row: dict[str, Any], split: str, where: str) -> None:
    for field, kind in (_TRAIN_FIELDS if split == "train" else _TEST_FIELDS).items():
        if field not in row:
            raise DataError(f"{where}: field {field!r} is missing")
        value = row[field]
        # bool is an int subclass; a category of `true` is a typo, not an id
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DataError(
                f"{where}: field {field!r}: expected {kind.__name__}, got {type(value).__name__}"
            )
    if not row["prompt"].strip():
        raise DataError(f"{where}: field 'prompt' is empty")
    if split == "train":
        for part in ("reasoning_content", "solution"):
            if not isinstance(row["cot_response"].get(part), str):
                raise DataError(f"{where}: field 'cot_response.{part}': expected str")


def _hub_file(split: str) -> Path:
    from huggingface_hub import hf_hub_download

    try:
        local = hf_hub_download(
            HUB_REPO, f"{split}.jsonl", repo_type="dataset", revision=HUB_REVISION
        )
    except Exception as err:  # offline, gated, or a proxy error: say what to do instead
        raise DataError(
            f"could not fetch {HUB_REPO}@{HUB_REVISION} {split}.jsonl from the Hugging Face hub "
            f"({type(err).__name__}); set {DATA_ENV} to a local copy, or to 'sample' for the "
            "bundled sample"
        ) from err
    return Path(local)


def subset_name(split: str = "test", category_id: int | None = None) -> str:
    """What sets a task's rows apart from the benchmark, ``""`` for the whole test split."""
    parts = [] if split == "test" else [f"split={split}"]
    if category_id is not None:
        parts.append(f"category={category_id}")
    return ", ".join(parts)


def run_subset(*parts: str) -> str:
    """A run's subset: its rows' own (``subset_name``) and the harness's (``--limit`` ...)."""
    return ", ".join(p for p in parts if p)


def category_fields(row: dict[str, Any], where: str) -> tuple[int | None, str | None]:
    """A row's ``category_id`` and ``category_name``, checked. FalseReject's own columns
    (``category`` as the id, ``category_text`` as the name) are read too, so its rows can be
    scored as they are; a safety set's string ``category`` is a name."""
    category_id = row.get("category_id", row.get("category"))
    name = row.get("category_name", row.get("category_text"))
    if isinstance(category_id, str) and name is None:
        category_id, name = None, category_id
    if category_id is not None and (not isinstance(category_id, int)
                                    or isinstance(category_id, bool)):
        raise DataError(f"{where}: field 'category_id': expected a whole number")
    if name is not None and not isinstance(name, str):
        raise DataError(f"{where}: field 'category_name': expected a string")
    return category_id, name
