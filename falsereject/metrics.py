"""Rates over verdicts, with n, the undetermined counts and Wilson intervals beside each.

Undetermined rows are counted (in all, and per reason) and reported, never folded into a
denominator. Every rate in falsereject's own outputs carries a Wilson 95 % interval from here.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from falsereject.verdicts import FAILURES, RATES, UNDETERMINED, UNKNOWN, VERDICTS

Z95 = 1.959963984540054
FLAG_UNDETERMINED = 0.05  # above this share of undetermined answers, a figure is flagged

T = TypeVar("T")


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | tuple[None, None]:
    """Wilson score interval; well behaved at 0 and n, unlike the normal approximation."""
    if n == 0:
        return (None, None)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize(verdicts: Iterable[str], rates: Iterable[str] = RATES,
              failures: Iterable[str | None] | None = None) -> dict[str, Any]:
    """Counts, rates and 95 % intervals for one set of verdicts.

    Keys: ``n`` (rows with a verdict), ``undetermined``, ``undetermined_rate`` (over all rows),
    ``undetermined_<reason>`` per reason in ``falsereject.verdicts.FAILURES``, one count per
    verdict, and per rate ``<rate>``, ``<rate>_ci_low``, ``<rate>_ci_high``. A rate over no
    verdicts is ``None``. ``failures``, one per verdict, gives the reason of each undetermined
    one (read only there); an undetermined verdict without a reason counts as ``unknown``.
    """
    verdicts = list(verdicts)
    failures = [None] * len(verdicts) if failures is None else list(failures)
    if len(failures) != len(verdicts):
        raise ValueError(f"{len(failures)} failure reasons for {len(verdicts)} verdicts")
    counts = Counter(verdicts)
    unknown = set(counts) - set(VERDICTS) - {UNDETERMINED}
    if unknown:
        raise ValueError(f"not a verdict: {', '.join(sorted(unknown))}")
    reasons = Counter(f or UNKNOWN for v, f in zip(verdicts, failures, strict=True)
                      if v == UNDETERMINED)
    if set(reasons) - set(FAILURES):
        raise ValueError(f"not a reason for undetermined: {', '.join(set(reasons) - set(FAILURES))}")
    n = sum(counts[v] for v in VERDICTS)
    total = n + counts[UNDETERMINED]
    out: dict[str, Any] = {"n": n, "undetermined": counts[UNDETERMINED]}
    out["undetermined_rate"] = counts[UNDETERMINED] / total if total else None
    out.update({f"undetermined_{kind}": reasons[kind] for kind in FAILURES})
    out.update({v: counts[v] for v in VERDICTS})
    for rate in rates:
        hits = sum(counts[v] for v in RATES[rate])
        out[rate] = hits / n if n else None
        out[f"{rate}_ci_low"], out[f"{rate}_ci_high"] = wilson(hits, n)
    return out


def breakdown(
    rows: Iterable[Mapping[str, Any]], key: str, rates: Iterable[str] = RATES
) -> dict[str, dict[str, Any]]:
    """``summarize`` per value of ``rows[key]`` (e.g. per category or per domain); rows carry
    ``verdict`` and, where undetermined, ``failure``."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[str(row[key])].append(row)
    rates = tuple(rates)
    return {group: summarize([r["verdict"] for r in members], rates,
                             [r.get("failure") for r in members])
            for group, members in sorted(groups.items())}


def undetermined_flag(summary: Mapping[str, Any]) -> str:
    """A warning when more than 5 % of the answers are undetermined, else ``""``."""
    share = summary["undetermined_rate"]
    if share is None or share <= FLAG_UNDETERMINED:
        return ""
    return (f"{share:.0%} undetermined ({undetermined_reasons(summary)}): over "
            f"{FLAG_UNDETERMINED:.0%}, the rates may be biased")


def undetermined_reasons(summary: Mapping[str, Any]) -> str:
    """``10 transport, 2 unusable``: the undetermined count of each reason that occurs."""
    return ", ".join(f"{summary[f'undetermined_{kind}']} {kind.replace('_', ' ')}"
                     for kind in FAILURES if summary[f"undetermined_{kind}"])


def reduce_epochs(items: Sequence[T], sample_of: Any, verdict_of: Any) -> list[T]:
    """One item per sample: the one whose verdict is the most common across the sample's epochs
    (ties: the earliest), as Inspect's ``mode`` reducer does, so both agree; ``undetermined``
    takes part like any verdict. Intervals count prompts, not answers, so several epochs never
    narrow them."""
    groups: dict[Hashable, list[T]] = defaultdict(list)
    for item in items:
        groups[sample_of(item)].append(item)
    kept = []
    for group in groups.values():
        mode, _ = Counter(verdict_of(i) for i in group).most_common(1)[0]
        kept.append(next(i for i in group if verdict_of(i) == mode))
    return kept
