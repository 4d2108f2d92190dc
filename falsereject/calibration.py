"""``falsereject calibrate``: how far a scorer agrees with people, on answers people labelled.

Data: XSTest v2's 2,250 double-annotated answers of five models, fetched once from the XSTest
repository at a pinned commit and cached (its prompts are CC-BY-4.0; see the repository for the
completions' terms); or a local folder of its
``xstest_v2_completions_*.csv`` files; or a JSONL of ``prompt``, ``response`` and ``label`` (a
verdict name), with ``source``, ``annotation_1``, ``annotation_2`` and ``prompt_kind`` optional,
such as the project's ``benchmarks/data/falsereject_dev.jsonl``.

The figures come from ``falsereject.agreement``, per source (the model or writer of the answers)
and pooled, with each annotator where there are two.
"""

from __future__ import annotations

import csv
import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from falsereject.agreement import BENIGN, HARMFUL, agreement, kappa, rate
from falsereject.data import DataError, json_objects
from falsereject.scorers import Scorer
from falsereject.verdicts import (
    DIRECT_REFUSAL,
    FAILURES,
    FULL_COMPLIANCE,
    SAFE_PARTIAL_COMPLIANCE,
    VERDICTS,
)

XSTEST_REPO = "paul-rottger/exaggerated-safety"
XSTEST_COMMIT = "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d"
XSTEST_MODELS = ("gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct")
# the verdicts' names in tables and figures
SHORT_NAMES = {FULL_COMPLIANCE: "full", SAFE_PARTIAL_COMPLIANCE: "partial",
               DIRECT_REFUSAL: "refusal"}
XSTEST_LABELS = {"1_full_compliance": FULL_COMPLIANCE, "2_full_refusal": DIRECT_REFUSAL,
                 "3_partial_refusal": SAFE_PARTIAL_COMPLIANCE}
CSV_COLUMNS = ("id", "type", "prompt", "completion", "annotation_1", "annotation_2",
               "final_label")


@dataclass(frozen=True)
class Labelled:
    id: str  # XSTest's row id, or the JSONL row's id (else its line number)
    prompt: str
    response: str
    label: str  # the final human label, as a verdict
    source: str
    kind: str | None  # benign / harmful, where known
    annotations: tuple[str, ...]  # each annotator's label, where there are two


def load_labelled(data: Path | None) -> tuple[list[Labelled], str]:
    """The labelled answers and a description of where they came from."""
    if data is None:
        folder = _fetch_xstest()
        return _read_folder(folder), f"{XSTEST_REPO}@{XSTEST_COMMIT} (XSTest v2)"
    if not data.exists():
        raise DataError(f"{data}: no such file or directory")
    if data.is_dir():
        return _read_folder(data), f"local:{data}"
    if data.suffix == ".jsonl":
        return _read_jsonl(data), f"local:{data}"
    raise DataError(f"{data}: expected a folder of xstest_v2_completions_*.csv or a .jsonl")


def _read_folder(folder: Path) -> list[Labelled]:
    files = sorted(folder.glob("xstest_v2_completions_*.csv"))
    if not files:
        raise DataError(f"{folder}: no xstest_v2_completions_*.csv in it")
    items = [item for path in files for item in _read_csv(path)]
    if not items:
        raise DataError(f"{folder}: its xstest_v2_completions_*.csv files hold no rows")
    return items


def _read_csv(path: Path) -> list[Labelled]:
    source = path.stem.removeprefix("xstest_v2_completions_")
    items = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}:1: column {missing[0]!r} is missing")
        for number, row in enumerate(reader, start=2):  # line 1: the header
            where = f"{path}:{number}"
            labels = [_xstest_label(row, key, where)
                      for key in ("final_label", "annotation_1", "annotation_2")]
            items.append(Labelled(
                id=row["id"], prompt=row["prompt"], response=row["completion"],
                label=labels[0], source=source,
                kind=HARMFUL if (row.get("type") or "").startswith("contrast_") else BENIGN,
                annotations=tuple(labels[1:])))
    return items


def _xstest_label(row: dict[str, str], key: str, where: str) -> str:
    value = row.get(key)
    if value not in XSTEST_LABELS:
        raise DataError(f"{where}: field {key!r}: {value!r} is not one of "
                        f"{', '.join(XSTEST_LABELS)}")
    return XSTEST_LABELS[value]


def _read_jsonl(path: Path) -> list[Labelled]:
    items = []
    for where, number, row in json_objects(path):
        for key in ("prompt", "response"):
            if not isinstance(row.get(key), str):
                raise DataError(f"{where}: field {key!r} is missing or not a string")
        if ("annotation_1" in row) != ("annotation_2" in row):
            raise DataError(f"{where}: fields 'annotation_1' and 'annotation_2': give both "
                            "or neither")
        keys = ["label"] + [k for k in ("annotation_1", "annotation_2") if k in row]
        for key in keys:
            if row.get(key) not in VERDICTS:
                raise DataError(f"{where}: field {key!r}: {row.get(key)!r} is not one of "
                                f"{', '.join(VERDICTS)}")
        labels = [row[k] for k in keys]
        kind = row.get("prompt_kind")
        if kind not in (None, BENIGN, HARMFUL):
            raise DataError(f"{where}: field 'prompt_kind': expected benign or harmful")
        items.append(Labelled(str(row.get("id", number)), row["prompt"], row["response"],
                              labels[0],
                              str(row.get("source") or path.stem), kind,
                              tuple(labels[1:]) if len(labels) == 3 else ()))
    if not items:
        raise DataError(f"{path}: no rows")
    return items


def _fetch_xstest() -> Path:
    """XSTest's completion files at the pinned commit, downloaded once into the cache."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = base / "falsereject" / "xstest" / XSTEST_COMMIT
    folder.mkdir(parents=True, exist_ok=True)
    for model in XSTEST_MODELS:
        target = folder / f"xstest_v2_completions_{model}.csv"
        if target.is_file():
            continue
        url = (f"https://raw.githubusercontent.com/{XSTEST_REPO}/{XSTEST_COMMIT}/"
               f"model_completions/{target.name}")
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                body = response.read()
        except OSError as err:
            raise DataError(f"could not fetch {url} ({type(err).__name__}): pass --data with a "
                            "local copy of the repository's model_completions/ folder") from None
        partial = target.with_suffix(".partial")
        partial.write_bytes(body)
        partial.replace(target)
    return folder


def calibrate(items: list[Labelled], scorer: Scorer, data: str) -> dict[str, Any]:
    """Judge every labelled answer with ``scorer``; every figure, per source and pooled."""
    judgements = scorer.judge([(i.prompt, i.response) for i in items])
    verdicts = [j.verdict for j in judgements]
    failures = {kind: sum(j.failure == kind for j in judgements) for kind in FAILURES}
    sources = sorted({i.source for i in items})
    describe = getattr(scorer, "describe", None)
    return {
        "scorer": scorer.name,
        "judge": describe() if describe else None,
        "data": data,
        "answers": len(items),
        "undetermined_by_reason": failures,
        "overall": _figures(items, verdicts),
        "by_source": {s: _figures([i for i in items if i.source == s],
                                  [v for i, v in zip(items, verdicts, strict=True)
                                   if i.source == s]) for s in sources},
    }


def _figures(items: list[Labelled], verdicts: list[str]) -> dict[str, Any]:
    figures = agreement([i.label for i in items], verdicts, [i.kind for i in items])
    doubled = [(i, v) for i, v in zip(items, verdicts, strict=True) if len(i.annotations) == 2]
    if doubled:
        judged = [(i, v) for i, v in doubled if v in VERDICTS]
        figures["annotators"] = {
            "n": len(doubled),
            "with_each_other": rate(sum(i.annotations[0] == i.annotations[1]
                                        for i, _ in doubled), len(doubled)),
            "with_each_other_kappa": kappa([i.annotations for i, _ in doubled]),
            **{f"scorer_with_annotator_{k + 1}":
               rate(sum(i.annotations[k] == v for i, v in judged), len(judged))
               for k in range(2)},
        }
    return figures


def write_outputs(result: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "calibration.json"
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return [path, *_draw_confusion(result, folder)]


def _draw_confusion(result: dict[str, Any], folder: Path) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = result["overall"]["confusion"]
    cells = [[matrix[r][s] for s in VERDICTS] for r in VERDICTS]
    fig = Figure(figsize=(4.6, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(cells, cmap="Blues")
    for r, row in enumerate(cells):
        for s, count in enumerate(row):
            ax.text(s, r, str(count), ha="center", va="center",
                    color="white" if count > max(map(max, cells)) / 2 else "black")
    ax.set_xticks(range(3), [SHORT_NAMES[v] for v in VERDICTS])
    ax.set_yticks(range(3), [SHORT_NAMES[v] for v in VERDICTS])
    ax.set_xlabel(f"scorer: {result['scorer']}")
    ax.set_ylabel("people (final label)")
    overall = result["overall"]
    ax.set_title(f"n {overall['n']}, accuracy {overall['accuracy']['value']:.3f}, "
                 f"kappa {overall['kappa']['value']:.3f}" if overall["n"] and
                 overall["kappa"]["value"] is not None else f"n {overall['n']}", fontsize=9)
    paths = [folder / "confusion.png", folder / "confusion.svg"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    return paths


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The short printed table: one line per source, then all."""
    lines = [f"{result['scorer']} against human labels ({result['data']})",
             f"{'source':<22}{'n':>6}{'undet':>7}{'3-class':>20}{'binary':>20}{'kappa':>20}"
             f"{'annotators agree':>18}"]
    for name, m in [*result["by_source"].items(), ("all", result["overall"])]:
        agree = m.get("annotators", {}).get("with_each_other", {}).get("value")
        lines.append(f"{name:<22}{m['n']:>6}{m['undetermined']:>7}{_with_ci(m['accuracy']):>20}"
                     f"{_with_ci(m['binary_accuracy']):>20}{_with_ci(m['kappa']):>20}"
                     f"{'-' if agree is None else f'{agree:.3f}':>18}")
    reasons = ", ".join(f"{count} {kind.replace('_', ' ')}"
                        for kind, count in result["undetermined_by_reason"].items() if count)
    lines.append("binary: refusal (direct or partial) vs full compliance; 95 % intervals; "
                 f"undetermined: {reasons or 'none'} (never scored)")
    return lines


def detail_lines(by_name: dict[str, dict[str, Any]]) -> list[str]:
    """One line per named set of figures: accuracy, kappa, per-class precision/recall and
    the error of the headline rates (scorer minus people), then the pooled confusion."""
    lines = [f"{'':<34}{'n':>5}{'undet':>6}{'3-class':>9}{'binary':>8}{'kappa':>7}"
             + "".join(f"{'P/R ' + SHORT_NAMES[c]:>13}" for c in VERDICTS)
             + f"{'usr err':>9}{'usr_tox err':>12}"]
    for name, m in by_name.items():
        classes = "".join(f"{_value(m['per_class'][c]['precision'])}/"
                          f"{_value(m['per_class'][c]['recall'])}".rjust(13) for c in VERDICTS)
        errors = "".join(
            (f"{m['rate_error'][r]['error']:+.3f}" if r in m["rate_error"] else "-").rjust(w)
            for r, w in (("usr", 9), ("usr_toxic", 12)))
        lines.append(f"{name:<34}{m['n']:>5}{m['undetermined']:>6}{_value(m['accuracy']):>9}"
                     f"{_value(m['binary_accuracy']):>8}{_value(m['kappa']):>7}{classes}{errors}")
    lines.append("binary: refusal (direct or partial) vs full compliance; P/R: precision/recall; "
                 "err: the scorer's rate minus people's")
    return lines


def _value(figure: dict[str, Any]) -> str:
    return "-" if figure["value"] is None else f"{figure['value']:.3f}"


def _with_ci(figure: dict[str, Any]) -> str:
    if figure["value"] is None:
        return "-"
    return f"{figure['value']:.3f} [{figure['ci_low']:.2f}, {figure['ci_high']:.2f}]"
