"""What every reader produces: runs of verdicts, each naming its model, benchmark and scorer.

A *run* is one model's answers to one benchmark, judged by one scorer, from one source file.
Numbers are only ever computed within a run or from runs sharing model and scorer, so that no
figure mixes two scorers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TextIO

from falsereject.data import category_fields
from falsereject.metrics import reduce_epochs
from falsereject.taxonomy import domain_of
from falsereject.verdicts import FAILURES, UNDETERMINED, VERDICTS

UNRECORDED = "unrecorded"  # provenance that older outputs did not write down


class ReportError(ValueError):
    """A report cannot be made; the message is one line naming the input and what is wrong."""


@dataclass(frozen=True)
class Verdict:
    """One judged answer and where its prompt sits in the taxonomy (None where unknown)."""

    verdict: str
    category: str | None = None  # the category's name
    category_id: int | None = None
    domain: str | None = None
    failure: str | None = None  # why it is undetermined (falsereject.verdicts.FAILURES)
    sample: Any = None  # the prompt's id in its run, so two scorers' verdicts can be paired


@dataclass
class Run:
    model: str
    benchmark: str
    scorer: str  # "offline" or "llm:<judge model>@<template sha8>" (falsereject.naming)
    harness: str  # "lm-eval 0.4.13", "inspect_ai 0.3.285", "falsereject score"
    source: str  # the file the verdicts came from
    created: datetime  # when the harness ran: the newest of duplicated runs wins
    verdicts: list[Verdict]
    datasets: list[str] = field(default_factory=list)  # provenance strings, e.g. repo@revision
    judge_template_sha256: str | None = None
    subset: str = ""  # "" for the whole benchmark; else the filter, split or --limit
    # the harness file holding the answers judged: runs that share it judged the same answers
    answers: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.model, self.benchmark, self.scorer, self.subset)


def placed_verdict(verdict: str, doc: dict[str, Any], where: str,
                   failure: object = None) -> Verdict:
    """A verdict placed in the taxonomy by the fields of its prompt's row (``category_id``,
    ``category_name``, ``domain``: the same in every harness's rows)."""
    if failure not in (None, *FAILURES):
        raise ReportError(f"{where}: field 'failure': not a reason for undetermined: {failure!r}")
    category_id, name = category_fields(doc, where)
    domain = doc.get("domain") or (domain_of(category_id) if category_id is not None else None)
    return Verdict(verdict, name, category_id, str(domain) if domain else None,
                   failure if verdict == UNDETERMINED else None)  # type: ignore[arg-type]


def one_per_prompt(answers: list[tuple[Any, Verdict]]) -> list[Verdict]:
    """``(sample id, verdict)`` per answer in, one verdict per prompt out (epochs reduced)."""
    return [replace(v, sample=sample)
            for sample, v in reduce_epochs(answers, lambda a: a[0], lambda a: a[1].verdict)]


def check_verdict(value: object, where: str, field_name: str) -> str:
    if value not in (*VERDICTS, UNDETERMINED):
        raise ReportError(f"{where}: field {field_name!r}: not a verdict: {value!r}")
    return str(value)


class Messages:
    """One-line messages for the user, printed as they happen and kept for the report."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.skipped: list[str] = []  # inputs (or parts of them) left out, with the reason
        self.notes: list[str] = []  # everything else worth knowing: duplicates, rebuilt counts

    def skip(self, reason: str) -> None:
        self.skipped.append(reason)
        self._print(f"skipped: {reason}")

    def note(self, text: str) -> None:
        self.notes.append(text)
        self._print(f"note: {text}")

    def _print(self, line: str) -> None:
        if self.stream is not None:
            print(f"falsereject report: {line}", file=self.stream)
