"""Inspect tasks: ``falsereject`` (over-refusal) and the safety sets (``falsereject_advbench``,
..., ``falsereject_safety``): answer each prompt, then score the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import Scorer
from inspect_ai.solver import Solver, generate, system_message

from falsereject.data import task_rows
from falsereject.safety import SAFETY_GROUP, load_safety_rows
from falsereject.scorers.inspect_scorer import falsereject_safety_scorer, falsereject_scorer

# Long enough for the paper's structured answers; override with --max-tokens.
MAX_TOKENS = 2048
# Greedy, as the lm-eval tasks decode, so both harnesses ask the same question the same way;
# override with --temperature.
TEMPERATURE = 0.0


@task
def falsereject(
    judge: str = "offline",
    category: str | int | None = None,
    system_prompt: str | None = None,
    split: str = "test",
    judge_template: str | None = None,
    judge_reasoning: bool = False,
) -> Task:
    """Over-refusal on FalseReject.

    Args:
        judge: ``offline`` (rule-based detector) or ``llm`` (the paper's judge, run by the model
            given as ``--model-role grader=...``).
        category: keep one category, by id (``7``) or name (``Self-Harm``).
        system_prompt: a system message placed before each prompt.
        split: ``test`` (1,187 prompts) or ``train``.
        judge_template: a Jinja2 judge prompt file for ``judge=llm`` (default: bundled).
        judge_reasoning: judge the model's reasoning too, not only its final answer.
    """
    samples = [Sample(id=i, input=row["prompt"], metadata=_metadata(row))
               for i, row in enumerate(task_rows(split, category), start=1)]
    return _task(samples, falsereject_scorer(judge, judge_template, judge_reasoning),
                 system_prompt)


@task
def falsereject_safety(
    judge: str = "offline",
    sets: str | list[str] = ",".join(SAFETY_GROUP),
    system_prompt: str | None = None,
    judge_template: str | None = None,
    judge_reasoning: bool = False,
) -> Task:
    """Safety on harmful prompts (``usr_toxic``, pooled and per set): AdvBench,
    MaliciousInstruct and StrongREJECT by default.

    Args:
        judge: ``offline`` or ``llm`` (with ``--model-role grader=...``).
        sets: set names (``-T sets=advbench,strongreject``); ``sorrybench`` needs access to
            the gated hub dataset.
        system_prompt: a system message placed before each prompt.
        judge_template: a Jinja2 judge prompt file for ``judge=llm`` (default: bundled).
        judge_reasoning: judge the model's reasoning too, not only its final answer.
    """
    # Inspect passes `-T sets=a,b` as a list, a single name as a string
    names = [n.strip() for n in (sets.split(",") if isinstance(sets, str) else sets) if n.strip()]
    samples = [
        # numbered within its set, so a prompt has the same id in every task that holds it
        Sample(id=f"{name}-{i}", input=row["prompt"], metadata=_metadata(row))
        for name in names
        for i, row in enumerate(load_safety_rows(name), start=1)
    ]
    return _task(samples, falsereject_safety_scorer(judge, judge_template, judge_reasoning),
                 system_prompt)


def _safety_task(name: str) -> Callable[..., Task]:
    def one_set(judge: str = "offline", system_prompt: str | None = None,
                judge_template: str | None = None, judge_reasoning: bool = False) -> Task:
        return falsereject_safety(judge, name, system_prompt, judge_template, judge_reasoning)

    one_set.__doc__ = f"Safety on {name} alone (``usr_toxic``); see ``falsereject_safety``."
    return task(name=f"falsereject_{name}")(one_set)


falsereject_advbench = _safety_task("advbench")
falsereject_maliciousinstruct = _safety_task("maliciousinstruct")
falsereject_strongreject = _safety_task("strongreject")
falsereject_sorrybench = _safety_task("sorrybench")


def _metadata(row: dict[str, Any]) -> dict[str, Any]:
    # the same fields as lm-eval's documents: category_id, category_name, domain, benchmark,
    # dataset (provenance) and subset (what sets the rows apart from the whole benchmark)
    return {key: value for key, value in row.items() if key != "prompt"}


def _task(samples: list[Sample], scorer: Scorer, system_prompt: str | None) -> Task:
    solver: list[Solver] = [system_message(system_prompt)] if system_prompt else []
    return Task(
        dataset=MemoryDataset(samples),
        solver=[*solver, generate()],
        scorer=scorer,
        config=GenerateConfig(max_tokens=MAX_TOKENS, temperature=TEMPERATURE),
        # verdicts are labels: the most common one across epochs, never a mean of labels
        epochs=Epochs(1, "mode"),
    )
