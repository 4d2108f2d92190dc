"""Sending a stage's requests: journal first, then one batch per backend, with budgets, token
accounting, one progress bar per stage, and bounded re-asks for malformed replies.

Every request carries a seed derived from the run's seed and the item's identity, so the same
pipeline file asks the same questions in the same order: an interrupted run finds its finished
calls in the journal and a finished run is reproducible.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from falsereject.generation.backends import Backend, GenRequest
from falsereject.generation.journal import Journal
from falsereject.generation.parsing import Malformed
from falsereject.llm_client import Completion

T = TypeVar("T")

RETRY_NOTE = ("Your reply could not be used: {reason}. Answer again, in exactly the format "
              "asked for and nothing else.")


class BudgetExhausted(ValueError):
    """The run reached ``budgets``; finished calls are journalled, so raising the budget and
    running the same command again continues from here."""


def derive_seed(*parts: object) -> int:
    """A 31-bit seed fixed by ``parts`` (Python's hash() is salted per process: not usable)."""
    text = "\x1f".join(str(p) for p in parts)
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


@dataclass
class StageStats:
    calls: int = 0  # sent to a backend in this run
    journalled: int = 0  # answered from the journal (finished in an earlier run)
    failed: int = 0  # transport failures after the client's own retries
    prompt_tokens: int = 0  # over all calls, journalled ones included
    completion_tokens: int = 0
    seconds: float = 0.0  # waiting on backends in this run (for tokens per second)
    asked: int = 0  # items whose first reply came back (not failed in transport)
    parsed_first_try: int = 0  # of those, usable without a re-ask


@dataclass(frozen=True)
class Job:
    item: str  # what the reply belongs to (a seed, a candidate ...)
    backend: str  # a name under ``backends:``
    request: GenRequest


@dataclass
class Asked(Generic[T]):
    parsed: dict[str, T]
    failed: dict[str, str]  # item -> why it was dropped


class Caller:
    def __init__(self, backends: dict[str, Backend], journal_dir: Path,
                 max_calls: int | None, max_tokens: int | None, retries: int) -> None:
        self.backends = backends
        self.journal_dir = journal_dir
        self.max_calls, self.max_tokens, self.retries = max_calls, max_tokens, retries
        self.stats: dict[str, StageStats] = {}
        self._journals: dict[str, Journal] = {}
        self._bars: dict[str, Any] = {}

    # -- budgets and accounting ------------------------------------------------------------
    @property
    def total_calls(self) -> int:
        return sum(s.calls + s.journalled for s in self.stats.values())

    @property
    def total_tokens(self) -> int:
        return sum(s.prompt_tokens + s.completion_tokens for s in self.stats.values())

    def summary(self) -> dict[str, Any]:
        return {stage: asdict(s) for stage, s in self.stats.items()}

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        for journal in self._journals.values():
            journal.close()

    # -- one batch -------------------------------------------------------------------------
    def call(self, stage: str, jobs: Sequence[Job]) -> list[Completion]:
        """One completion per job: from the journal, or from one batch per backend."""
        journal = self._journal(stage)
        stats = self.stats.setdefault(stage, StageStats())
        bar = self._bar(stage, len(jobs))
        results: list[Completion | None] = [None] * len(jobs)
        misses: dict[str, list[int]] = {}
        for index, job in enumerate(jobs):
            hit = journal.get(self._key(job))
            if hit is None:
                misses.setdefault(job.backend, []).append(index)
                continue
            results[index] = hit
            self._count(stats, hit, journalled=True)
            bar.update(1)
        for backend_name, indices in misses.items():
            self._check_budget(len(indices))
            backend = self.backends[backend_name]

            def on_done(position: int, completion: Completion,
                        indices: list[int] = indices) -> None:
                job = jobs[indices[position]]
                if completion.text is not None:
                    journal.put(self._key(job), completion)
                self._count(stats, completion, journalled=False)
                bar.update(1)
                bar.set_postfix(tokens=stats.prompt_tokens + stats.completion_tokens,
                                refresh=False)

            start = time.perf_counter()
            completions = backend.generate([jobs[i].request for i in indices], on_done)
            stats.seconds += time.perf_counter() - start
            for index, completion in zip(indices, completions, strict=True):
                results[index] = completion
        return [r if r is not None else Completion(None, "no reply") for r in results]

    def ask(self, stage: str, jobs: Sequence[Job],
            parse: Callable[[Completion, Job], T]) -> Asked[T]:
        """``call`` plus parsing: a malformed reply is shown to the model with the reason and
        asked again, up to ``retries`` times; then the item is dropped with that reason."""
        asked: Asked[T] = Asked({}, {})
        pending = list(jobs)
        for attempt in range(self.retries + 1):
            retry: list[Job] = []
            completions = self.call(stage, pending)
            if attempt == 0:
                stats = self.stats[stage]
                stats.asked += sum(c.text is not None for c in completions)
            for job, completion in zip(pending, completions, strict=True):
                try:
                    if completion.text is None:
                        raise Malformed(f"request failed: {completion.error}")
                    asked.parsed[job.item] = parse(completion, job)
                except Malformed as err:
                    asked.failed[job.item] = f"{stage}: {err} (after {attempt + 1} attempts)"
                    retry.append(_retry(job, completion, str(err), attempt + 1))
            if attempt == 0:
                stats.parsed_first_try += len(asked.parsed)
            if not retry or attempt == self.retries:
                break
            pending = retry
        for item in asked.parsed:
            asked.failed.pop(item, None)
        return asked

    # -- helpers -----------------------------------------------------------------------------
    def _key(self, job: Job) -> str:
        return job.request.key(self.backends[job.backend].type)

    def _count(self, stats: StageStats, completion: Completion, journalled: bool) -> None:
        if journalled:
            stats.journalled += 1
        else:
            stats.calls += 1
            stats.failed += completion.text is None
        stats.prompt_tokens += completion.prompt_tokens
        stats.completion_tokens += completion.completion_tokens

    def _check_budget(self, upcoming: int) -> None:
        if self.max_calls is not None and self.total_calls + upcoming > self.max_calls:
            raise BudgetExhausted(
                f"budgets.max_calls ({self.max_calls}) reached: {self.total_calls} calls made, "
                f"{upcoming} more needed; raise it and run the same command to continue")
        if self.max_tokens is not None and self.total_tokens >= self.max_tokens:
            raise BudgetExhausted(
                f"budgets.max_tokens ({self.max_tokens}) reached: {self.total_tokens} tokens "
                "used; raise it and run the same command to continue")

    def _journal(self, stage: str) -> Journal:
        if stage not in self._journals:
            self._journals[stage] = Journal(self.journal_dir / f"{stage}.jsonl")
        return self._journals[stage]

    def _bar(self, stage: str, more: int) -> Any:
        if stage not in self._bars:
            from tqdm import tqdm

            self._bars[stage] = tqdm(total=0, desc=f"{stage:<13}", unit="call", file=sys.stderr,
                                     position=len(self._bars), dynamic_ncols=True)
        bar = self._bars[stage]
        bar.total += more
        bar.refresh()
        return bar


def _retry(job: Job, completion: Completion, reason: str, attempt: int) -> Job:
    """The same question again, showing the model its unusable reply and why."""
    request = job.request
    messages = request.messages
    if completion.text is not None:
        messages = (*messages, {"role": "assistant", "content": completion.text},
                    {"role": "user", "content": RETRY_NOTE.format(reason=reason)})
    seed = derive_seed(request.seed, "retry", attempt)
    return Job(job.item, job.backend, replace(request, messages=messages, seed=seed))
