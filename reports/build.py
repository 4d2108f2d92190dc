"""``build_report``: inputs in, table, figures, model card and HTML report out."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from falsereject.reports.card import write_card, write_html
from falsereject.reports.compare import JudgeEvidence, read_calibrations, scorer_agreement
from falsereject.reports.ingest import ingest
from falsereject.reports.runs import Messages, ReportError, Run
from falsereject.reports.table import keep_newest, table_rows, write_table

DEFAULT_TITLE = "Over-refusal and safety (FalseReject)"


@dataclass
class Report:
    rows: list[dict[str, Any]]  # the tidy table, as written to results.csv / results.json
    skipped: list[str]  # inputs (or parts) left out, one reason each
    notes: list[str]  # duplicates dropped, counts rebuilt, renames that matched nothing
    paths: list[Path] = field(default_factory=list)  # every file written
    agreements: list[dict[str, Any]] = field(default_factory=list)  # scorers on the same answers

    def overall(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["scope"] == "overall"]


def build_report(
    inputs: Iterable[str | Path],
    output_dir: str | Path,
    renames: Mapping[str, str] | None = None,
    title: str = DEFAULT_TITLE,
    stream: TextIO | None = None,
    calibrations: Iterable[str | Path] = (),
) -> Report:
    """Read every input, then write ``results.csv``/``.json``, the figures (PNG and SVG),
    ``model_card.md`` and ``report.html`` into ``output_dir``. Skips and notes are printed to
    ``stream`` (default: stderr) as they happen, one line each, and returned in the Report.

    ``calibrations`` are ``falsereject calibrate`` outputs: each scorer's measured agreement
    with people is put beside every number it produced. Scorers that judged the same answers
    get their agreement with each other.

    A missing input path, or inputs with nothing usable in them, raise ReportError before any
    file is written.
    """
    messages = Messages(stream or sys.stderr)
    measured = read_calibrations([Path(p) for p in calibrations])
    runs = ingest([Path(p) for p in inputs], messages)
    if not runs:
        reasons = "; ".join(messages.skipped) or "no inputs"
        raise ReportError(f"nothing to report: no usable run in the inputs ({reasons})")
    runs = _renamed(runs, renames or {}, messages)
    # before de-duplication: a scorer pair counts whenever both judged the same answers
    evidence = JudgeEvidence(scorer_agreement(runs), measured)
    runs = keep_newest(runs, messages)
    rows = table_rows(runs)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    from falsereject.reports.plots import draw_all  # matplotlib: only when drawing

    paths = write_table(rows, output)
    plots = draw_all(rows, output)
    paths += [p for pair in plots.values() for p in pair]
    paths.append(write_card(rows, runs, plots, output, title, evidence))
    paths.append(write_html(rows, runs, plots, output, title, messages.skipped, messages.notes,
                            evidence))
    return Report(rows, messages.skipped, messages.notes, paths, evidence.agreements)


def _renamed(runs: list[Run], renames: Mapping[str, str], messages: Messages) -> list[Run]:
    models = {run.model for run in runs}
    for old in renames:
        if old not in models:
            messages.note(f"--rename {old}=...: no model is called {old!r} "
                          f"(models: {', '.join(sorted(models))})")
    for run in runs:
        run.model = renames.get(run.model, run.model)
    return runs
