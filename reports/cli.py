"""``falsereject report``: many models' harness outputs in, one table, figures and card out."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this part's subcommands on the falsereject parser."""
    p = commands.add_parser(
        "report",
        help="table, figures, model card and HTML report from lm-eval/Inspect/score outputs",
        description="Read lm-eval output folders, Inspect logs and `falsereject score --output` "
        "files for any number of models; write results.csv/.json, figures (PNG and SVG), "
        "model_card.md and report.html.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="lm-eval --output_path folder or results/samples file, Inspect log "
                   "(.eval/.json) or log folder, or falsereject score output (.jsonl)")
    p.add_argument("--output-dir", type=Path, required=True, metavar="DIR")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="show model OLD as NEW (repeatable); runs that then share model, "
                   "benchmark and scorer are duplicates, and the newest is kept")
    p.add_argument("--title", help="heading of the model card and the HTML report")
    p.add_argument("--calibration", action="append", default=[], type=Path, metavar="FILE",
                   help="a falsereject calibrate output (calibration.json): the scorer's "
                   "measured agreement with people goes beside its numbers (repeatable)")
    p.set_defaults(run=report)


def report(args: argparse.Namespace) -> int:
    from falsereject.reports.build import DEFAULT_TITLE, build_report

    result = build_report(args.inputs, args.output_dir, renames=parse_renames(args.rename),
                          title=args.title or DEFAULT_TITLE, calibrations=args.calibration)
    print_summary(result.overall())
    print("\nWritten:")
    for path in result.paths:
        print(f"  {path}")
    return 0


def parse_renames(pairs: list[str]) -> dict[str, str]:
    from falsereject.reports.runs import ReportError

    renames = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise ReportError(f"--rename {pair!r}: expected OLD=NEW")
        renames[old] = new
    return renames


def print_summary(rows: list[dict[str, Any]]) -> None:
    from falsereject.benchmarks import shown

    header = ("model", "benchmark", "rate", "value", "95% CI", "n", "undetermined", "scorer")
    lines = [header]
    for row in rows:
        rate = shown(row["benchmark"]).main_rate
        value, low, high = row[rate], row[f"{rate}_ci_low"], row[f"{rate}_ci_high"]
        lines.append((
            row["model"], row["benchmark"] + (f" ({row['subset']})" if row["subset"] else ""),
            rate,
            "-" if value is None else f"{value:.3f}",
            "-" if low is None else f"{low:.2f}-{high:.2f}",
            str(row["n"]), str(row["undetermined"]),
            row["scorer"] + (f"  [{row['flag']}]" if row["flag"] else ""),
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    for i, line in enumerate(lines):
        cells = [cell.ljust(width) if j < 3 else cell.rjust(width)
                 for j, (cell, width) in enumerate(zip(line, widths))]
        print("  ".join(cells + [line[-1]]))
        if i == 0:
            print("-" * (sum(widths) + 2 * len(widths) + len(header[-1])))
