"""What falsereject reads and writes in lm-eval's ``--output_path`` folders, in one place.

- A judgement travels as lm-eval's filtered response: ``"<verdict>: <explanation>"``, or
  ``"undetermined[<reason>]: <explanation>"`` for an undetermined one, so the samples file
  keeps why.
- ``results_<ts>.json`` beside ``samples_<task>_<ts>.jsonl`` names the run: the model, the
  lm-eval version, the time and any ``--limit``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from falsereject.data import DataError
from falsereject.verdicts import FAILURES, UNDETERMINED, VERDICTS

_FILTERED = re.compile(rf"({'|'.join(VERDICTS)}|{UNDETERMINED})(?:\[(\w+)\])?:")


def format_judgement(verdict: str, explanation: str, failure: str | None) -> str:
    reason = f"[{failure}]" if verdict == UNDETERMINED and failure else ""
    return f"{verdict}{reason}: {explanation}"


def parse_judgement(text: str) -> tuple[str, str | None] | None:
    """``(verdict, failure reason)`` from a filtered response; None if it holds no verdict."""
    match = _FILTERED.match(text)
    if match is None:
        return None
    verdict, failure = match.group(1), match.group(2)
    if failure is not None and failure not in FAILURES:
        return None
    return verdict, failure


@dataclass(frozen=True)
class RunInfo:
    results: Path
    header: dict[str, Any]

    @property
    def model(self) -> str:
        """The model's name as lm-eval gives it: ``model_name``, else the ``pretrained=`` or
        ``model=`` argument; never a folder or file name."""
        name = self.header.get("model_name")
        args = (self.header.get("config") or {}).get("model_args") or {}
        if isinstance(args, str):  # older lm-eval: "pretrained=x,dtype=y"
            args = dict(part.partition("=")[::2] for part in args.split(",") if "=" in part)
        name = name or args.get("pretrained") or args.get("model")
        if not isinstance(name, str) or not name:
            raise DataError(f"{self.results}: field 'model_name' is missing: no model to name")
        return name  # lm-eval names a model as it is: falsereject.naming

    @property
    def version(self) -> str:
        return f"lm-eval {self.header.get('lm_eval_version', 'unknown version')}"

    @property
    def created(self) -> datetime:
        stamp = self.header.get("date")
        if isinstance(stamp, (int, float)):
            return datetime.fromtimestamp(stamp, timezone.utc)
        return datetime.fromtimestamp(self.results.stat().st_mtime, timezone.utc)

    def harness_subset(self, task: str) -> str:
        """What ``--limit`` (or ``--samples``) left out of ``task``; ``""`` for every document."""
        limit = (self.header.get("config") or {}).get("limit")
        if limit:
            return f"limit={limit:g}" if isinstance(limit, (int, float)) else f"limit={limit}"
        counts = (self.header.get("n-samples") or {}).get(task) or {}
        original, effective = counts.get("original"), counts.get("effective")
        if isinstance(original, int) and isinstance(effective, int) and effective < original:
            return f"{effective} of {original} documents"
        return ""

    def samples_file(self, task: str) -> Path:
        stamp = self.results.stem.removeprefix("results_")
        return self.results.with_name(f"samples_{task}_{stamp}.jsonl")


def is_results_file(path: Path) -> bool:
    return path.name.startswith("results_") and path.suffix == ".json"


def read_results(path: Path) -> RunInfo:
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not readable as JSON ({type(err).__name__})") from None
    if not isinstance(header, dict) or not isinstance(header.get("configs"), dict):
        raise DataError(f"{path}: not an lm-eval results file (no 'configs')")
    return RunInfo(path, header)


def results_for_samples(path: Path) -> tuple[RunInfo, str]:
    """The run a samples file belongs to (its results file), and the samples file's task."""
    for results in sorted(path.parent.glob("results_*.json")):
        suffix = f"_{results.stem.removeprefix('results_')}.jsonl"
        if path.name.startswith("samples_") and path.name.endswith(suffix):
            return read_results(results), path.name[len("samples_"):-len(suffix)]
    raise DataError(f"{path}: no results_<timestamp>.json beside it to name the model")
