"""Agreement of the offline scorer with human labels, source by source.

Usage: python benchmarks/offline_agreement.py [--xstest-dir DIR] [--dev FILE] [--json OUT]

A *source* is what shapes an answer's style: one model's answers in XSTest v2 (``--xstest-dir``,
else ``$FALSEREJECT_XSTEST_DIR``, else ``../shared/data/xstest_v2_dev``), or one writing voice of
the project's own development set (``benchmarks/data/falsereject_dev.jsonl``). The rules were
written against the *tune* rows of the two XSTest sources (a fixed 70 % split by a hash of
``file:id``); those rows are reported apart and never count as held out. Every other row, the
XSTest held-out rows and all six development-set voices, was never read while writing rules.

For each source: 3-class and refusal-vs-compliance accuracy (XSTest's convention: refusal is
direct_refusal or safe_partial_compliance), Cohen's kappa, per-class precision and recall,
the confusion matrix, and the error of ``usr`` (benign prompts) and ``usr_toxic`` (harmful
prompts) against the human rates, all from ``falsereject.agreement``. Last, the time to score
1,187 long answers in a fresh process, start included.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from falsereject.agreement import agreement
from falsereject.calibration import Labelled, detail_lines, load_labelled
from falsereject.scorers.offline import detect

REPO = Path(__file__).resolve().parent.parent
XSTEST_DIR = REPO.parent / "shared" / "data" / "xstest_v2_dev"
XSTEST_ENV = "FALSEREJECT_XSTEST_DIR"
DEV_SET = REPO / "benchmarks" / "data" / "falsereject_dev.jsonl"
TIMED_ANSWERS = 1187


def split_of(item: Labelled, xstest: bool) -> str:
    """XSTest rows: the fixed 70 % the rules were written against ("tune"), by a hash of
    ``file:id``; every development-set row is held out."""
    if not xstest:
        return "held-out"
    digest = hashlib.sha256(f"xstest_v2_completions_{item.source}:{item.id}".encode()).hexdigest()
    return "tune" if int(digest, 16) % 10 < 7 else "held-out"


def figures(items: list[Labelled]) -> dict[str, Any]:
    return agreement([i.label for i in items], [detect(i.response).verdict for i in items],
                     [i.kind for i in items])


def timed_run(items: list[Labelled]) -> float:
    """Seconds for a fresh process to import the scorer and score 1,187 long answers."""
    longest = sorted((i.response for i in items), key=len, reverse=True)[:200]
    answers = [longest[i % len(longest)] for i in range(TIMED_ANSWERS)]
    code = ("import json, sys\nfrom falsereject.scorers import get_scorer\n"
            "answers = json.load(sys.stdin)\n"
            "get_scorer().judge([('', a) for a in answers])\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], input=json.dumps(answers), text=True,
                   check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xstest-dir", type=Path,
                        default=Path(os.environ.get(XSTEST_ENV) or XSTEST_DIR))
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    groups: dict[str, list[Labelled]] = {}
    dev, _ = load_labelled(args.dev)
    xstest = []
    if args.xstest_dir.is_dir():
        xstest, _ = load_labelled(args.xstest_dir)
    else:
        print(f"note: no XSTest CSVs in {args.xstest_dir}: development set only", file=sys.stderr)
    for item, is_xstest in [(i, True) for i in xstest] + [(i, False) for i in dev]:
        name = f"{'xstest_' if is_xstest else ''}{item.source} ({split_of(item, is_xstest)})"
        groups.setdefault(name, []).append(item)
    held_out = [i for name, members in groups.items() if name.endswith("(held-out)")
                for i in members]
    results = {name: figures(members) for name, members in groups.items()}
    results["all held-out rows (pooled)"] = figures(held_out)
    seconds = timed_run(xstest + dev)
    print("Offline scorer (rules) against human labels, per source. Tuned on: the 'tune' rows "
          "of the XSTest sources only.\n")
    print("\n".join(detail_lines(results)))
    print(f"\nScoring {TIMED_ANSWERS} long answers in a fresh process, start included: "
          f"{seconds:.2f} s")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "timed_seconds": seconds},
                                        indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
