"""Scorers turn (prompt, response) pairs into verdicts, the same way for every harness.

A scorer judges a batch at once, so that a remote judge can run its requests concurrently; the
offline detector simply loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from falsereject.verdicts import NO_ANSWER, UNDETERMINED


@dataclass(frozen=True)
class Judgement:
    verdict: str
    explanation: str
    raw: str | None = None  # an LLM judge's whole reply
    failure: str | None = None  # why it is undetermined: a kind from falsereject.verdicts


class Scorer(Protocol):
    name: str  # shown beside every number this scorer produced

    def judge(self, items: Sequence[tuple[str, str]]) -> list[Judgement]: ...


# The offline scorer's name carries its version: a change that can move verdicts (rules, head
# weights) bumps it, so reports never merge two versions' numbers as one scorer.
OFFLINE_SCORER = "offline-v13"


class OfflineScorer:
    """The offline detector: rules read the answer, a small learned head decides. No model
    weights to download, no network."""

    name = OFFLINE_SCORER

    def judge(self, items: Sequence[tuple[str, str]]) -> list[Judgement]:
        from falsereject.scorers.offline import detect

        return [_offline_judgement(detect(response, prompt)) for prompt, response in items]


def _offline_judgement(detection: Any) -> Judgement:
    # the detector is undetermined only when no answer is left to read
    failure = NO_ANSWER if detection.verdict == UNDETERMINED else None
    return Judgement(detection.verdict, detection.cue, failure=failure)


JUDGES = ("offline", "llm")


def get_scorer(judge: str = "offline", **judge_settings: object) -> Scorer:
    """``offline``, or ``llm``: the LLM judge configured by ``judge_settings`` (flags) and the
    ``FALSEREJECT_JUDGE_*`` variables."""
    if judge == "offline":
        return OfflineScorer()
    if judge == "llm":
        from falsereject.scorers.llm_judge import JudgeSettings, LLMJudge

        return LLMJudge(JudgeSettings.from_env(**judge_settings))
    raise ValueError(f"unknown judge {judge!r}: choose one of {', '.join(JUDGES)}")
