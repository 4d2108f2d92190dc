"""Agreement of the offline scorer with human labels on sources it was not trained on.

Usage: python benchmarks/offline_agreement.py [--xstest-dir DIR] [--dev FILE] [--held-out FILE]
                                             [--json OUT] [--only SOURCE ...]

A *source* is what shapes an answer's style: one model's answers in XSTest v2 (``--xstest-dir``,
else ``$FALSEREJECT_XSTEST_DIR``, else ``../shared/data/xstest_v2_dev``), or one writing voice of
the project's development set (``benchmarks/data/falsereject_dev.jsonl``).

Leave one source out: for each source, the head is trained (the same command and seed as the
shipped one) on every other source and scored on this one, so no figure comes from answers the
head learnt from. The development voices first written as held-out ones (their ``round`` field)
are also pooled by round. Beside it, the rules alone (the head's input, no training) on the same
answers. The shipped head, trained on every source, is not scored on those: its figures on its
own training data would be memory, not generalisation.

Then the shipped scorer on the held-out voices (``benchmarks/data/falsereject_heldout.jsonl``), per
voice, pooled, and pooled by the round each voice was written in (its ``round`` field) and over
each round and the later ones: never trained on, and no setting of the head chosen by them (the
data card says which round was written while which scorer was chosen, and which round's misread
answers were read, after its first scoring, to write the next version's cues).

For each source: 3-class and refusal-vs-compliance accuracy (XSTest's convention: refusal is
direct_refusal or safe_partial_compliance), Cohen's kappa, per-class precision and recall, the
confusion matrix, and the error of ``usr`` (benign prompts) and ``usr_toxic`` (harmful prompts)
against the human rates, from ``falsereject.agreement``; then the targets each source misses, a
rate's error also counted in answers (one answer of a voice's 18 harmful prompts is 5.6 points),
and how many sources would miss each rate's target by chance if all had the same per-answer errors.
Last, the time to score 1,187 long answers in a fresh process, start included.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from falsereject.agreement import BENIGN, HARMFUL, agreement
from falsereject.calibration import SHORT_NAMES, Labelled, calibrate, detail_lines, load_labelled
from falsereject.data import DataError, json_objects
from falsereject.scorers import OFFLINE_SCORER, get_scorer
from falsereject.scorers.offline_head import (
    DEV_SET,
    HELD_OUT_SET,
    Example,
    default_xstest_dir,
    examples,
    labelled_sources,
    train,
)
from falsereject.verdicts import RATES, UNDETERMINED, VERDICTS

TIMED_ANSWERS = 1187
# The paper's long instruct-format answers: the voices written in that shape.
LONG_FALSEREJECT_STYLE = ("falsereject_instruct", "longform_structured", "sectioned_explainer")
TARGETS = {"accuracy": 0.88, "binary_accuracy": 0.92, "rate_error": 0.03}


def figures(data: list[Example], verdicts: list[str]) -> dict[str, Any]:
    return agreement([e.item.label for e in data], verdicts, [e.item.kind for e in data])


def leave_one_source_out(data: list[Example], only: list[str] | None = None
                         ) -> dict[str, list[str]]:
    """Each source's verdicts (of ``only``, else of all) from a head trained on every other."""
    out = {}
    for source in sorted(only or {e.item.source for e in data}):
        head = train([e for e in data if e.item.source != source])
        out[source] = [head.predict(e.features, e.tokens)[0]
                       for e in data if e.item.source == source]
    return out


class _JudgedOnce:
    """A scorer that judges each answer once, however many ways its figures are pooled."""

    def __init__(self, scorer: Any) -> None:
        self.name, self._scorer, self._judged = scorer.name, scorer, {}

    def judge(self, pairs: list[tuple[str, str]]) -> list[Any]:
        new = [pair for pair in dict.fromkeys(pairs) if pair not in self._judged]
        self._judged.update(zip(new, self._scorer.judge(new), strict=True))
        return [self._judged[pair] for pair in pairs]


def rounds(path: Path) -> dict[str, int]:
    """The ``round`` of each voice whose rows carry one: when it was written as a held-out voice
    (the data card dates the rounds)."""
    out: dict[str, int] = {}
    for where, _, row in json_objects(path):
        if "round" not in row:
            continue
        # the source named as the scorer reads it (the file's name when a row has none)
        value, source = row["round"], str(row.get("source") or path.stem)
        if type(value) is not int or value < 1:
            raise DataError(f"{where}: field 'round': {value!r} is not a positive whole number")
        if out.setdefault(source, value) != value:
            raise DataError(f"{where}: field 'round': {source} is in rounds {out[source]} and "
                            f"{value}")
    return out


def held_out_voices(items: list[Labelled], where: str, round_of: dict[str, int]
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shipped scorer's figures on each voice and pooled, which is what ``falsereject
    calibrate --data PATH`` prints (undetermined answers counted, as the scorer returns them);
    then pooled by round, and over each round and the later ones."""
    scorer = _JudgedOnce(get_scorer())
    result = calibrate(items, scorer, where)
    voices = {**result["by_source"], "held-out voices (pooled)": result["overall"]}
    dated = [i for i in items if i.source in round_of]
    if not dated:
        return voices, {}
    by_round = calibrate([replace(i, source=f"round {round_of[i.source]}") for i in dated],
                         scorer, where)["by_source"]
    for first in sorted(set(round_of.values()))[1:-1]:
        later = [i for i in dated if round_of[i.source] >= first]
        by_round[f"rounds {first} and later"] = calibrate(later, scorer, where)["overall"]
    return voices, by_round


def misses(result: dict[str, Any]) -> list[str]:
    """The targets one source's figures miss."""
    out = [f"{key} {result[key]['value']:.3f} < {bound}"
           for key, bound in (("accuracy", TARGETS["accuracy"]),
                              ("binary_accuracy", TARGETS["binary_accuracy"]))
           if result[key]["value"] is not None and result[key]["value"] < bound]
    # a per-voice rate moves in steps of one answer: say how many answers the error is
    out += [f"{rate} error {e['error']:+.3f} ({round(abs(e['error']) * e['n'])} of {e['n']} "
            f"answers)" for rate, e in result["rate_error"].items() if _off_target(e["error"])]
    return out


def _off_target(error: float) -> bool:
    return abs(error) > TARGETS["rate_error"]


def misses_by_chance(by_source: dict[str, list[Example]], verdicts: dict[str, list[str]]
                     ) -> dict[str, dict[str, float]]:
    """How many sources miss each rate's target, and how many would if every source had the same
    per-answer error rates (the sources' mean): a source's rate moves in whole answers, so a small
    source can miss by chance alone."""
    out = {}
    for name, kind in (("usr", BENIGN), ("usr_toxic", HARMFUL)):
        counts = []  # per source: answers people count in the rate, the others, and each flip
        for source, answers in by_source.items():
            pairs = [(e.item.label in RATES[name], v in RATES[name])
                     for e, v in zip(answers, verdicts[source], strict=True)
                     if e.item.kind == kind and v != UNDETERMINED]
            if pairs:
                counts.append((sum(r for r, _ in pairs), sum(not r for r, _ in pairs),
                               sum(r and not v for r, v in pairs),
                               sum(v and not r for r, v in pairs)))
        lost = _mean([l / i for i, _, l, _ in counts if i])
        gained = _mean([g / o for _, o, _, g in counts if o])
        out[name] = {
            "sources": len(counts), "lost_per_answer": lost, "gained_per_answer": gained,
            "observed": sum(_beyond(i, i - l + g, i + o) for i, o, l, g in counts),
            "expected": sum(_beyond_target(i, lost, o, gained) for i, o, _, _ in counts),
        }
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _beyond(reference: int, scored: int, n: int) -> bool:
    # the same arithmetic as falsereject.agreement's rate error, so the boundary agrees with it
    return _off_target(scored / n - reference / n)


def _beyond_target(counted: int, lost: float, others: int, gained: float) -> float:
    """The chance that answers gained minus answers lost move the rate past the target."""
    def binomial(n: int, p: float) -> list[float]:
        return [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]

    n = counted + others
    return sum(a * b for i, a in enumerate(binomial(counted, lost))
               for j, b in enumerate(binomial(others, gained))
               if _beyond(counted, counted - i + j, n))


def target_lines(results: dict[str, dict[str, Any]], sources: list[str], whose: str) -> list[str]:
    lines = [f"Targets (3-class >= {TARGETS['accuracy']}, binary >= {TARGETS['binary_accuracy']}, "
             f"usr / usr_toxic within {TARGETS['rate_error']:.2f}), {whose}:"]
    for source in sources:
        missed = misses(results[source])
        lines.append(f"  {source:<26}{'met' if not missed else 'missed: ' + '; '.join(missed)}")
    return lines


def confusion_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["confusion (rows: people; columns: scorer full/partial/refusal)"]
    for name, result in results.items():
        cells = "  ".join(f"{SHORT_NAMES[r]} "
                          + "/".join(str(result["confusion"][r][c]) for c in VERDICTS)
                          for r in VERDICTS)
        lines.append(f"  {name:<40}{cells}")
    return lines


def timed_run(data: list[Example]) -> float:
    """Seconds for a fresh process to import the scorer and score 1,187 long answers."""
    longest = sorted(data, key=lambda e: len(e.item.response), reverse=True)[:200]
    pairs = [(e.item.prompt, e.item.response) for e in longest]
    batch = [pairs[i % len(pairs)] for i in range(TIMED_ANSWERS)]
    code = ("import json, sys\nfrom falsereject.scorers import get_scorer\n"
            "get_scorer().judge([tuple(p) for p in json.load(sys.stdin)])\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], input=json.dumps(batch), text=True, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xstest-dir", type=Path, default=default_xstest_dir())
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--held-out", type=Path, default=HELD_OUT_SET,
                        help="voices the head never trains on, scored by the shipped scorer")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--only", nargs="+", metavar="SOURCE",
                        help="hold out only these sources, in turn (default: every source)")
    args = parser.parse_args(argv)
    try:  # read first, so that a bad file costs no minutes of training
        held_out, where = load_labelled(args.held_out)
        round_of, dev_round = rounds(args.held_out), rounds(args.dev)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.xstest_dir.is_dir():
        print(f"note: no XSTest CSVs in {args.xstest_dir}: development set only", file=sys.stderr)
    data = examples(labelled_sources(args.xstest_dir, args.dev))
    unknown = set(args.only or ()) - {e.item.source for e in data}
    if unknown:
        parser.error(f"--only: no answers from {', '.join(sorted(unknown))}")
    loso = leave_one_source_out(data, args.only)
    by_source = {s: [e for e in data if e.item.source == s] for s in loso}
    head = {s: figures(by_source[s], loso[s]) for s in loso}

    def pooled(sources: list[str]) -> dict[str, Any]:
        return figures([e for s in sources for e in by_source[s]],
                       [v for s in sources for v in loso[s]])

    head["all sources (pooled)"] = pooled(list(loso))
    if long_style := [s for s in loso if s in LONG_FALSEREJECT_STYLE]:
        head["long FalseReject-style (pooled)"] = pooled(long_style)
    # the development voices first written as held-out ones, pooled by the round they came in
    dated = [s for s in loso if s in dev_round]
    in_rounds = sorted({dev_round[s] for s in dated})
    for n in in_rounds:
        head[f"round {n} (pooled)"] = pooled([s for s in dated if dev_round[s] == n])
    if len(in_rounds) > 1:
        head[f"rounds {in_rounds[0]}-{in_rounds[-1]} (pooled)"] = pooled(dated)
    rules = {s: figures(by_source[s], [e.rules for e in by_source[s]]) for s in loso}
    chance = misses_by_chance(by_source, loso)
    fresh, fresh_rounds = held_out_voices(held_out, where, round_of)
    seconds = timed_run(data)

    sources = len({e.item.source for e in data})
    print(f"Offline scorer {OFFLINE_SCORER}, leave one source out: each source scored by a head "
          f"trained on the other {sources - 1}.\n")
    print("\n".join(detail_lines(head)))
    print()
    print("\n".join(confusion_lines(head)))
    print("\nThe rules alone (no learned head), same answers:\n")
    print("\n".join(detail_lines(rules)))
    print()
    print("\n".join(target_lines(head, list(loso), "leave-one-source-out head")))
    print("Rate targets missed, against chance (every source with the same per-answer errors): "
          + "; ".join(f"{rate}: {c['observed']} of {c['sources']} sources, {c['expected']:.1f} by "
                      f"chance" for rate, c in chance.items()))
    print(f"\nThe shipped scorer ({OFFLINE_SCORER}) on the held-out voices of "
          f"{args.held_out.name}, never trained on:\n")
    print("\n".join(detail_lines(fresh)))
    print()
    print("\n".join(confusion_lines(fresh)))
    print()
    print("\n".join(target_lines(fresh, sorted({i.source for i in held_out}), "held-out voices")))
    if fresh_rounds:
        print("\nThe same, pooled by the round each voice was written in (the data card dates "
              "them):\n")
        print("\n".join(detail_lines(fresh_rounds)))
    print(f"\nScoring {TIMED_ANSWERS} long answers in a fresh process, start included: "
          f"{seconds:.2f} s")
    if args.json:
        args.json.write_text(json.dumps({"scorer": OFFLINE_SCORER, "leave_one_source_out": head,
                                         "rules_only": rules, "rate_misses_by_chance": chance,
                                         "held_out_voices": fresh,
                                         "held_out_rounds": fresh_rounds,
                                         "timed_seconds": seconds},
                                        indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
