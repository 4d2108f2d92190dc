"""``falsereject``: score saved answers, list categories, locate the lm-eval tasks, run the demo."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from falsereject.data import DataError, categories, load_rows
from falsereject.inputs import read_records
from falsereject.llm_client import EndpointError
from falsereject.scorers import JUDGES, Scorer, get_scorer
from falsereject.scorers.llm_judge import JudgeError
from falsereject.scoring import score_records, summary


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (DataError, JudgeError, EndpointError, ValueError) as err:
        print(f"falsereject: error: {err}", file=sys.stderr)
        return 2


def score(args: argparse.Namespace) -> int:
    records = [record for path in args.inputs for record in read_records(path)]
    scorer = _scorer(args)
    rows = score_records(records, scorer)
    if args.output:
        _write_jsonl(args.output, rows)
    describe = getattr(scorer, "describe", None)
    metrics = summary(rows, scorer.name, args.inputs, describe() if describe else None)
    for run in metrics["runs"]:
        for flag in run["flags"]:
            print(f"falsereject score: {run['model']} / {run['benchmark']}: {flag}",
                  file=sys.stderr)
    text = json.dumps(metrics, indent=2)
    if args.metrics_json:
        args.metrics_json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def calibrate(args: argparse.Namespace) -> int:
    """Judge answers that people labelled, and say how far the scorer agrees with them:
    accuracy, kappa, per-class precision and recall, per source, with intervals. Writes
    calibration.json and confusion.png/.svg into --output-dir."""
    from falsereject.calibration import calibrate as run
    from falsereject.calibration import load_labelled, summary_lines, write_outputs

    items, data = load_labelled(args.data)
    result = run(items, _scorer(args), data)
    paths = write_outputs(result, args.output_dir)
    print("\n".join(summary_lines(result)))
    print("\nWritten: " + ", ".join(str(p) for p in paths))
    return 0


def _scorer(args: argparse.Namespace) -> Scorer:
    return get_scorer(args.judge, **_judge_settings(args)) if args.judge == "llm" else get_scorer()


def _judge_settings(args: argparse.Namespace) -> dict[str, object]:
    return {
        "model": args.judge_model,
        "base_url": args.judge_base_url,
        "api_key": args.judge_api_key,
        "template": args.judge_template,
        "backend": args.judge_backend,
        "concurrency": args.concurrency,
        "cache_dir": args.cache_dir,
        "use_cache": not args.no_cache,
        "judge_reasoning": args.judge_reasoning,
    }


def list_categories(args: argparse.Namespace) -> int:
    """Print the category map of the data in use (``$FALSEREJECT_DATA`` or the hub)."""
    rows = load_rows(args.split)
    counts = Counter(row["category"] for row in rows)
    for category in categories(rows).values():
        print(f"{category.id:>3}  {counts[category.id]:>5}  {category.domain:<34}{category.name}")
    print(f"{len(rows)} prompts in {len(counts)} categories ({args.split} split)")
    return 0


def lm_eval_dir(args: argparse.Namespace) -> int:
    """Print the folder to pass as ``lm_eval --include_path`` (needed for editable installs)."""
    from importlib import resources

    print(resources.files("falsereject.tasks") / "lm_eval")
    return 0


def demo(args: argparse.Namespace) -> int:
    from falsereject.demo import run_demo

    return run_demo(args.output_dir, limit=args.limit)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    # write beside, then rename: an interrupted run never leaves a half-written file
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)


def _add_judge_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--judge", choices=JUDGES, default="offline",
                   help="offline: the offline scorer (rules and a small learned head); "
                        "llm: the paper's LLM judge")
    judge = p.add_argument_group("LLM judge (--judge llm)")
    judge.add_argument("--judge-model", help="default: $FALSEREJECT_JUDGE_MODEL")
    judge.add_argument("--judge-base-url", help="OpenAI-compatible endpoint; default: "
                       "$FALSEREJECT_JUDGE_BASE_URL, else OpenAI")
    judge.add_argument("--judge-api-key", help="default: $FALSEREJECT_JUDGE_API_KEY or "
                       "$OPENAI_API_KEY")
    judge.add_argument("--judge-backend", choices=("openai", "vllm"), default=None,
                       help="openai: any OpenAI-compatible endpoint (default); vllm: in-process")
    judge.add_argument("--judge-template", help="a Jinja2 judge prompt; default: "
                       "$FALSEREJECT_JUDGE_TEMPLATE, else the bundled one")
    judge.add_argument("--concurrency", type=int, help="requests in flight (default 16)")
    judge.add_argument("--cache-dir", type=Path, help="default: $FALSEREJECT_CACHE_DIR, else "
                       "~/.cache/falsereject/judge")
    judge.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    judge.add_argument("--judge-reasoning", action="store_true",
                       help="judge <think> blocks too (default: the final answer only)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="falsereject", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    p = commands.add_parser("score", help="score saved answers (JSONL, lm-eval samples, Inspect logs)")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    _add_judge_arguments(p)
    p.add_argument("--output", type=Path, help="JSONL: each input row plus verdict and explanation")
    p.add_argument("--metrics-json", type=Path, help="also write the printed metrics here")
    p.set_defaults(run=score)

    p = commands.add_parser("calibrate", help="measure a scorer against human labels",
                            description=calibrate.__doc__)
    _add_judge_arguments(p)
    p.add_argument("--data", type=Path, help="a folder of xstest_v2_completions_*.csv or a JSONL "
                   "of prompt, response, label (default: XSTest v2 from its repository, cached)")
    p.add_argument("--output-dir", type=Path, default=Path("calibration"), metavar="DIR")
    p.set_defaults(run=calibrate)

    p = commands.add_parser("categories", help="list the categories of the data in use")
    p.add_argument("--split", default="test", choices=("test", "train"))
    p.set_defaults(run=list_categories)

    p = commands.add_parser("lm-eval-dir", help="print the lm-eval task folder (--include_path)")
    p.set_defaults(run=lm_eval_dir)

    p = commands.add_parser("demo", help="run both harnesses offline on the bundled sample")
    p.add_argument("--output-dir", type=Path, default=Path("demo-output"))
    p.add_argument("--limit", type=int, default=None, help="prompts per model (default: all 92)")
    p.set_defaults(run=demo)

    # each part registers its own commands (kept light: heavy imports happen when they run)
    from falsereject.generation.cli import add_commands as add_generation_commands
    from falsereject.reports.cli import add_commands as add_report_commands

    add_report_commands(commands)
    add_generation_commands(commands)
    return parser
