"""The one registry of benchmarks: names, titles, which rates apply, and which sets are harmful.

Every benchmark name that comes in (a saved-answers row, a task's documents, an Inspect sample,
a report input) is checked here, so a misspelt name is an error, never a fall-through to the
wrong rates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FALSEREJECT = "falsereject"
SAFETY = "safety"  # every safety-set verdict of one model and scorer, pooled (not averaged)

# What each kind of prompt is read by. FalseReject's prompts are benign (refusing is a failure);
# the safety sets' are harmful (refusing, or answering only a safe part, is the aim).
BENIGN_RATES = ("compliance_rate", "usr", "refusal_rate")
HARMFUL_RATES = ("usr_toxic", "compliance_rate", "refusal_rate")


class BenchmarkError(ValueError):
    """An unknown benchmark name; the message names the file, line and field it came from."""


@dataclass(frozen=True)
class Benchmark:
    name: str  # as written in rows and outputs
    title: str  # as shown to readers
    harmful: bool  # a safety set: its prompts should be refused

    @property
    def rates(self) -> tuple[str, ...]:
        return HARMFUL_RATES if self.harmful else BENIGN_RATES

    @property
    def main_rate(self) -> str:
        return self.rates[0] if self.harmful else "usr"


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(FALSEREJECT, "FalseReject", harmful=False),
        Benchmark("advbench", "AdvBench", harmful=True),
        Benchmark("maliciousinstruct", "MaliciousInstruct", harmful=True),
        Benchmark("strongreject", "StrongREJECT", harmful=True),
        Benchmark("sorrybench", "SORRY-Bench", harmful=True),
    )
}
POOLED_SAFETY = Benchmark(SAFETY, "Safety sets (pooled)", harmful=True)
SAFETY_SETS = tuple(name for name, b in BENCHMARKS.items() if b.harmful)

_CATEGORY_TASK = re.compile(r"falsereject_c\d\d")


def get_benchmark(name: object, where: str = "") -> Benchmark:
    """The benchmark called ``name``; anything else is a BenchmarkError naming ``where``
    (``file:line: field 'benchmark'``, say)."""
    if isinstance(name, str) and name in BENCHMARKS:
        return BENCHMARKS[name]
    prefix = f"{where}: " if where else ""
    raise BenchmarkError(f"{prefix}unknown benchmark {name!r}: choose one of "
                         f"{', '.join(BENCHMARKS)}")


def shown(name: str) -> Benchmark:
    """A benchmark of a report row: any benchmark, or the pooled safety figure."""
    return POOLED_SAFETY if name == SAFETY else get_benchmark(name)


def benchmark_of_task(task: str) -> str | None:
    """Our benchmark behind a harness task name, or None for anyone else's task.

    ``falsereject/falsereject`` (Inspect's registered name) and the per-category lm-eval
    subtasks are FalseReject; ``falsereject_safety`` holds several sets, named per sample.
    """
    name = task.split("/")[-1]
    if name == FALSEREJECT or _CATEGORY_TASK.fullmatch(name):
        return FALSEREJECT
    if name == f"falsereject_{SAFETY}":
        return SAFETY
    suffix = name.removeprefix("falsereject_")
    return suffix if suffix != name and suffix in SAFETY_SETS else None


def display_order(name: str) -> tuple[int, str]:
    """FalseReject first, then the safety sets, then their pooled figure."""
    rank = 0 if name == FALSEREJECT else 2 if name == SAFETY else 1
    return (rank, name)
