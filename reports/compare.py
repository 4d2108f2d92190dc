"""How far two scorers agree when they judged the same answers, and how far each agrees with
people (``falsereject calibrate``), for the report's card and HTML."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from falsereject.agreement import agreement
from falsereject.reports.runs import ReportError, Run
from falsereject.verdicts import VERDICTS


@dataclass
class JudgeEvidence:
    """What the report says about its scorers: their agreement with each other on the same
    answers, and each one's measured agreement with people (by scorer name)."""

    agreements: list[dict[str, Any]] = field(default_factory=list)
    calibrations: dict[str, dict[str, Any]] = field(default_factory=dict)


def scorer_agreement(runs: list[Run]) -> list[dict[str, Any]]:
    """One entry per pair of scorers that judged the same answers (the same harness file) of
    one model, benchmark and subset: percent agreement and kappa over the prompts both gave a
    verdict, and the confusion matrix (rows: the first scorer)."""
    groups: dict[tuple[str, str, str, str], list[Run]] = defaultdict(list)
    for run in runs:
        if run.answers:
            groups[(run.model, run.benchmark, run.subset, run.answers)].append(run)
    found = []
    for (model, benchmark, subset, _), group in groups.items():
        for first, second in combinations(sorted(group, key=lambda r: r.scorer), 2):
            if first.scorer == second.scorer:  # the same scorer twice is no comparison
                continue
            theirs = {v.sample: v.verdict for v in second.verdicts if v.sample is not None}
            pairs = [(v.verdict, theirs[v.sample]) for v in first.verdicts
                     if v.sample in theirs and v.verdict in VERDICTS
                     and theirs[v.sample] in VERDICTS]
            if not pairs:
                continue
            figures = agreement([a for a, _ in pairs], [b for _, b in pairs])
            found.append({"model": model, "benchmark": benchmark, "subset": subset,
                          "scorers": (first.scorer, second.scorer), "n": figures["n"],
                          "agreement": figures["accuracy"], "kappa": figures["kappa"],
                          "confusion": figures["confusion"]})
    return found


def read_calibrations(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """``falsereject calibrate`` outputs by the scorer they measured."""
    found: dict[str, dict[str, Any]] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as err:
            raise ReportError(f"{path}: not readable ({type(err).__name__})") from None
        except json.JSONDecodeError as err:
            raise ReportError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
        _check_calibration(path, data)
        if data["scorer"] in found:
            raise ReportError(f"{path}: a second calibration of scorer {data['scorer']!r} "
                              f"(the first: {found[data['scorer']]['file']})")
        found[data["scorer"]] = {"data": data["data"], **data["overall"], "file": str(path)}
    return found


def _check_calibration(path: Path, data: Any) -> None:
    """The fields the report reads, each present and of its kind, else a one-line error."""
    def fail(field_name: str) -> None:
        raise ReportError(f"{path}: field {field_name!r} is missing or malformed: not a "
                          "falsereject calibrate output")

    if not isinstance(data, dict):
        fail("scorer")
    for key in ("scorer", "data"):
        if not isinstance(data.get(key), str):
            fail(key)
    overall = data.get("overall")
    if not isinstance(overall, dict) or not isinstance(overall.get("n"), int):
        fail("overall.n")
    for figure in ("accuracy", "kappa"):
        if not isinstance(overall.get(figure), dict) or not {"value", "ci_low", "ci_high"} <= set(
                overall[figure]):
            fail(f"overall.{figure}")


def calibration_note(calibration: dict[str, Any] | None) -> str:
    """``acc 0.913 [0.89, 0.93], kappa 0.837 (n 900, <data>)``, or that there is none."""
    if calibration is None:
        return "not calibrated"
    accuracy, kappa = calibration["accuracy"], calibration["kappa"]
    if accuracy["value"] is None:
        return f"no verdicts in its calibration ({calibration['data']})"
    text = f"acc {accuracy['value']:.3f} [{accuracy['ci_low']:.2f}, {accuracy['ci_high']:.2f}]"
    if kappa["value"] is not None:
        text += f", kappa {kappa['value']:.3f}"
    return f"{text} (n {calibration['n']}, {calibration['data']})"
