"""How long `falsereject report` takes for many models at the benchmark's full size.

Usage: python benchmarks/report_speed.py [--models 30] [--json OUT]

Writes one `falsereject score --output` file per model (rows made by the same function as the
command's) (1,187 FalseReject answers over 46
categories, plus 520 AdvBench, 217 StrongREJECT and 100 MaliciousInstruct answers, all with
random verdicts: the real file format, not the real data), then times `build_report` on them,
phase by phase: reading, the table, the figures and the card.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from falsereject.inputs import Record
from falsereject.reports.build import build_report
from falsereject.reports.ingest import ingest
from falsereject.reports.plots import draw_all
from falsereject.reports.runs import Messages
from falsereject.reports.table import keep_newest, table_rows
from falsereject.scorers import Judgement
from falsereject.scoring import scored_row
from falsereject.taxonomy import domain_of

SIZES = {"falsereject": 1187, "advbench": 520, "strongreject": 217, "maliciousinstruct": 100}
VERDICTS = ("full_compliance", "safe_partial_compliance", "direct_refusal", "undetermined")


def write_model(folder: Path, index: int, rng: random.Random) -> Path:
    model = f"org/model-{index:02d}"
    refuse = rng.random()
    weights = (1 - refuse, 0.3, refuse, 0.03)
    path = folder / f"model-{index:02d}.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for benchmark, size in SIZES.items():
            for i in range(size):
                category = 1 + i % 46 if benchmark == "falsereject" else None
                record = Record(
                    model=model, benchmark=benchmark, subset="", sample_id=i, epoch=1,
                    prompt=f"prompt {i}", response="answer", category_id=category,
                    category_name=f"Category {category}" if category else None,
                    domain=domain_of(category) if category else None, dataset="synthetic",
                    harness="synthetic", created="2026-12-01T00:00:00+00:00",
                    source=str(path), origin=f"{path}:{i}")
                verdict = rng.choices(VERDICTS, weights)[0]
                judgement = Judgement(verdict, "", failure="unusable"
                                      if verdict == "undetermined" else None)
                out.write(json.dumps(scored_row(record, judgement, "offline")) + "\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rng = random.Random(2505)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = [write_model(folder, i, rng) for i in range(args.models)]
        answers = args.models * sum(SIZES.values())
        timings = {}
        start = time.perf_counter()
        runs = keep_newest(ingest(inputs, Messages(io.StringIO())), Messages(io.StringIO()))
        timings["read"] = time.perf_counter() - start
        start = time.perf_counter()
        rows = table_rows(runs)
        timings["table"] = time.perf_counter() - start
        start = time.perf_counter()
        draw_all(rows, folder / "figures")
        timings["figures"] = time.perf_counter() - start
        start = time.perf_counter()
        report = build_report(inputs, folder / "report", stream=io.StringIO())
        timings["report"] = time.perf_counter() - start
    result = {"models": args.models, "answers": answers, "table_rows": len(report.rows),
              "files_written": len(report.paths),
              **{f"{phase}_s": round(seconds, 2) for phase, seconds in timings.items()}}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
