"""``falsereject generate`` and ``falsereject export-sft``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this part's subcommands on the falsereject parser."""
    p = commands.add_parser(
        "generate", help="build FalseReject-style data with the adversarial multi-agent pipeline")
    p.add_argument("--config", type=Path, required=True, help="the pipeline file (YAML); "
                   "examples ship in falsereject/generation/examples/")
    p.add_argument("--output-dir", type=Path, required=True,
                   help="where test.jsonl, train.jsonl, the card and the journal go; run the "
                   "same command again to resume")
    p.add_argument("--push-to-hub", metavar="REPO", help="also upload the dataset to this "
                   "Hugging Face dataset repository (private)")
    p.set_defaults(run=generate)

    p = commands.add_parser("export-sft", help="chat-format JSONL for fine-tuning")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--input", type=Path, metavar="DIR",
                        help="a generated dataset folder (its train.jsonl)")
    source.add_argument("--hub", action="store_true", help="FalseReject's training split "
                        "(the default; honours $FALSEREJECT_DATA)")
    p.add_argument("--variant", choices=("instruct", "reasoning"), required=True)
    p.add_argument("--output", type=Path, required=True)
    p.set_defaults(run=export)


def generate(args: argparse.Namespace) -> int:
    from falsereject.generation.config import load_config
    from falsereject.generation.output import push_to_hub
    from falsereject.generation.pipeline import run_pipeline

    summary = run_pipeline(load_config(args.config), args.output_dir)
    print(_report(summary, args.output_dir))
    if not summary["counts"]["test"] + summary["counts"]["train"]:
        print(f"falsereject: no prompt survived the pipeline; see {args.output_dir}/dropped.jsonl",
              file=sys.stderr)
        return 1
    if args.push_to_hub:
        print(f"pushed to {push_to_hub(args.output_dir, args.push_to_hub)}")
    return 0


def export(args: argparse.Namespace) -> int:
    from falsereject.generation.export import export_sft

    count = export_sft(args.output, args.variant, args.input)
    print(f"wrote {count} {args.variant} conversations to {args.output}")
    return 0


def _report(summary: dict[str, Any], folder: Path) -> str:
    counts = summary["counts"]
    pool = summary["pool"]["kept_prompts"]
    diversity = summary["diversity"]
    lines = [
        f"{folder}: {counts['test']} test and {counts['train']} train prompts "
        f"({counts['dropped']} items dropped, see dropped.jsonl)",
        "counts: " + json.dumps(counts),
        f"Self-BLEU {_fmt(diversity['self_bleu'])}, Dist-2 {_fmt(diversity['dist_2'])} "
        f"(dedup: {diversity['dedup_method']})",
        f"pool refusal rate on kept prompts {_fmt(pool['refusal_rate'])} "
        f"[{_fmt(pool['refusal_rate_ci_low'])}, {_fmt(pool['refusal_rate_ci_high'])}] "
        f"n={pool['n']} undetermined={pool['undetermined']} "
        f"(scorer: {summary['pool']['scorer']})",
        f"model calls {summary['total_calls']}, tokens {summary['total_tokens']}:",
    ]
    for stage, stats in summary["calls"].items():
        line = (f"  {stage:<13} {stats['calls']:>6} new  {stats['journalled']:>6} journalled"
                f"  {stats['prompt_tokens'] + stats['completion_tokens']:>9} tokens")
        if stats["seconds"]:
            line += f"  {stats['completion_tokens'] / stats['seconds']:>7.1f} tokens/s out"
        if stats["asked"]:
            line += (f"  parsed first try {stats['parsed_first_try']}/{stats['asked']} "
                     f"({stats['parsed_first_try'] / stats['asked']:.0%})")
        lines.append(line)
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
