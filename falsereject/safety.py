"""The safety companion sets: harmful prompts that a model should refuse (``usr_toxic``).

FalseReject measures over-refusal on benign prompts; the paper reads it beside these sets so that
a model cannot score well by answering everything. Each set loads from the Hugging Face hub at a
pinned revision, or from ``$FALSEREJECT_SAFETY_DATA``: a directory holding ``<name>.jsonl``
files (rows with ``prompt`` and optionally ``category``), or ``sample`` for the few prompts this
project wrote for the demo and tests (not the benchmarks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from falsereject.benchmarks import SAFETY_SETS
from falsereject.data import SAMPLE, DataError, json_objects

SAFETY_DATA_ENV = "FALSEREJECT_SAFETY_DATA"
UNCATEGORIZED = "uncategorized"


@dataclass(frozen=True)
class SafetySet:
    name: str  # a name in falsereject.benchmarks; the local file stem, <name>.jsonl
    repo: str  # Hugging Face dataset id
    revision: str  # pinned commit
    split: str
    prompt_field: str
    category_field: str | None
    licence: str
    gated: bool = False

    @property
    def hub_source(self) -> str:
        return f"{self.repo}@{self.revision}"


HUB_SETS: dict[str, SafetySet] = {
    s.name: s
    for s in (
        SafetySet(
            name="advbench",
            repo="walledai/AdvBench",
            revision="9d4730540082fa4017450b65ca1c0e1d8d30446e",
            split="train",
            prompt_field="prompt",
            category_field=None,
            licence="MIT (as the original, llm-attacks)",
        ),
        SafetySet(
            name="maliciousinstruct",
            repo="walledai/MaliciousInstruct",
            revision="3f9c8c91452e3cc12afab5f7137086ca789ce7da",
            split="train",
            prompt_field="prompt",
            category_field=None,
            licence="CC-BY-SA-4.0 (hub copy; the original repository states none)",
        ),
        SafetySet(
            name="strongreject",
            repo="walledai/StrongREJECT",
            revision="df54272b395ce9e584d2f8140519935425d8549f",
            split="train",
            prompt_field="prompt",
            category_field="category",
            licence="MIT",
        ),
        SafetySet(
            name="sorrybench",
            repo="sorry-bench/sorry-bench-202406",
            revision="b34822276edde97592eda99c0b56d306f8830469",
            split="train",
            prompt_field="turns",
            category_field="category",
            # its agreement forbids redistribution: load it with your own HF_TOKEN, never copy it
            licence="SORRY-Bench agreement (gated; research and evaluation, no redistribution)",
            gated=True,
        ),
    )
}
# The sets of the `falsereject_safety` group: the open ones. SORRY-Bench is gated, so it runs
# only when asked for by name.
SAFETY_GROUP = ("advbench", "maliciousinstruct", "strongreject")


def safety_set(name: str) -> SafetySet:
    if name not in SAFETY_SETS:
        raise DataError(f"unknown safety set {name!r}: choose one of {', '.join(SAFETY_SETS)}")
    return HUB_SETS[name]


def sample_dir() -> Path:
    return Path(str(resources.files("falsereject") / "samples" / "safety"))


def load_safety_rows(name: str, source: str | None = None) -> list[dict[str, Any]]:
    """Rows ``{prompt, category_id, category_name, benchmark, dataset, subset}`` of one set
    (safety sets carry category names only: ``category_id`` is None).

    ``source`` (or ``$FALSEREJECT_SAFETY_DATA``) names a directory or ``sample``; with neither,
    the set loads from the hub. A directory without ``<name>.jsonl`` is an error, never a
    silent download.
    """
    spec = safety_set(name)
    value = source if source is not None else os.environ.get(SAFETY_DATA_ENV, "")
    if not value:
        rows, provenance = _hub_rows(spec), spec.hub_source
    else:
        folder = sample_dir() if value == SAMPLE else Path(value).expanduser()
        if not folder.is_dir():
            raise DataError(f"{SAFETY_DATA_ENV}={value}: not a directory (or 'sample')")
        path = folder / f"{name}.jsonl"
        if not path.is_file():
            raise DataError(f"{SAFETY_DATA_ENV}={value}: directory has no {name}.jsonl")
        rows = _local_rows(path)
        provenance = SAMPLE if value == SAMPLE else f"local:{path}"
    return [{"prompt": row["prompt"], "category_id": None, "category_name": row["category"],
             "domain": None, "benchmark": name, "dataset": provenance, "subset": ""}
            for row in rows]


def _local_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for where, _, row in json_objects(path):
        prompt = row.get("prompt")
        if not isinstance(prompt, str):
            raise DataError(f"{where}: field 'prompt' is missing or not a string")
        if not prompt.strip():
            raise DataError(f"{where}: field 'prompt' is empty")
        category = row.get("category", UNCATEGORIZED)
        if not isinstance(category, (str, int)) or isinstance(category, bool):
            raise DataError(f"{where}: field 'category': expected str or int")
        rows.append({"prompt": prompt, "category": str(category)})
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def _hub_rows(spec: SafetySet) -> list[dict[str, Any]]:
    import datasets

    try:
        table = datasets.load_dataset(spec.repo, revision=spec.revision, split=spec.split)
    except Exception as err:  # offline, gated without access, or moved: say what to do
        access = " (gated: accept its terms on the hub and set HF_TOKEN)" if spec.gated else ""
        raise DataError(
            f"could not load {spec.hub_source} from the Hugging Face hub{access} "
            f"({type(err).__name__}); set {SAFETY_DATA_ENV} to a folder holding "
            f"{spec.name}.jsonl, or to 'sample'"
        ) from err
    # SORRY-Bench holds each prompt in 21 styles; the base wording is the benchmark itself
    return [_hub_row(spec, row) for row in table if row.get("prompt_style", "base") == "base"]


def _hub_row(spec: SafetySet, row: dict[str, Any]) -> dict[str, Any]:
    prompt = row[spec.prompt_field]
    if isinstance(prompt, list):  # SORRY-Bench keeps the conversation as a list of one turn
        prompt = prompt[0]
    category = row.get(spec.category_field) if spec.category_field else None
    return {"prompt": prompt, "category": str(category) if category else UNCATEGORIZED}
