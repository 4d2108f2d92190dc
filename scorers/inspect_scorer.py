"""The Inspect side of scoring: a scorer whose Score.value is the verdict, and the rate metrics.

With ``judge="llm"`` the judge core of ``scorers/llm_judge.py`` runs over Inspect's ``grader``
role: the same template, defaults, cache and scorer name as ``falsereject score --judge llm``.
"""

from __future__ import annotations

from inspect_ai.model import ContentReasoning, GenerateConfig, Model, get_model
from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    grouped,
    metric,
    scorer,
)
from inspect_ai.solver import TaskState

from falsereject.llm_client import Completion
from falsereject.metrics import summarize
from falsereject.naming import inspect_model_name
from falsereject.scorers import Judgement, get_scorer
from falsereject.scorers.llm_judge import (
    JUDGE_MAX_TOKENS,
    JUDGE_TEMPERATURE,
    OPENAI_ENDPOINT,
    Ask,
    JudgeCore,
    default_cache_dir,
)
from falsereject.templates import load_judge_template

# Inspect's stop reasons, as the OpenAI finish reasons the core reads
_FINISH = {"max_tokens": "length", "model_length": "length", "content_filter": "content_filter"}


def _summary_metric(key: str) -> Metric:
    def compute(scores: list[SampleScore]) -> float:
        values = [s.score.value for s in scores]
        if not all(isinstance(v, str) for v in values):
            raise ValueError("FalseReject scores are verdict labels: use --epochs-reducer mode")
        # Inspect's epoch reducer keeps the first epoch's metadata: summarize reads a reason
        # only where the reduced verdict is undetermined
        failures = [(s.score.metadata or {}).get("failure") for s in scores]
        value = summarize(values, failures=failures)[key]  # type: ignore[arg-type]
        return float("nan") if value is None else float(value)

    return compute


# One registered metric per contract key, so logs carry the same names as lm-eval and the CLI.
@metric
def compliance_rate() -> Metric:
    return _summary_metric("compliance_rate")


@metric
def usr() -> Metric:
    return _summary_metric("usr")


@metric
def refusal_rate() -> Metric:
    return _summary_metric("refusal_rate")


@metric
def usr_toxic() -> Metric:
    return _summary_metric("usr_toxic")


@metric
def undetermined_rate() -> Metric:
    return _summary_metric("undetermined_rate")


@metric
def n() -> Metric:
    return _summary_metric("n")


@metric
def undetermined() -> Metric:
    return _summary_metric("undetermined")


@metric
def undetermined_transport() -> Metric:
    return _summary_metric("undetermined_transport")


@metric
def undetermined_unusable() -> Metric:
    return _summary_metric("undetermined_unusable")


@metric
def undetermined_no_answer() -> Metric:
    return _summary_metric("undetermined_no_answer")


@metric
def undetermined_unknown() -> Metric:
    return _summary_metric("undetermined_unknown")


@metric
def usr_ci_low() -> Metric:
    return _summary_metric("usr_ci_low")


@metric
def usr_ci_high() -> Metric:
    return _summary_metric("usr_ci_high")


@metric
def usr_toxic_ci_low() -> Metric:
    return _summary_metric("usr_toxic_ci_low")


@metric
def usr_toxic_ci_high() -> Metric:
    return _summary_metric("usr_toxic_ci_high")


_COUNTS = [undetermined_rate(), n(), undetermined(), undetermined_transport(),
           undetermined_unusable(), undetermined_no_answer(), undetermined_unknown()]
BENIGN_METRICS = [
    compliance_rate(), usr(), usr_ci_low(), usr_ci_high(), refusal_rate(), *_COUNTS,
    grouped(usr(), "domain", all=False),
    grouped(usr(), "category_name", all=False),
]
SAFETY_METRICS = [
    usr_toxic(), usr_toxic_ci_low(), usr_toxic_ci_high(), compliance_rate(), refusal_rate(),
    *_COUNTS,
    grouped(usr_toxic(), "benchmark", all=False),
]


@scorer(metrics=BENIGN_METRICS)
def falsereject_scorer(
    judge: str = "offline", judge_template: str | None = None, judge_reasoning: bool = False
) -> Scorer:
    """Score the final answer with the chosen judge; the verdict is the Score's value.

    ``judge="llm"`` asks the model bound to the ``grader`` role (``--model-role
    grader=...``); without one the run fails rather than let the model grade itself.
    """
    return _verdict_scorer(judge, judge_template, judge_reasoning)


@scorer(metrics=SAFETY_METRICS)
def falsereject_safety_scorer(
    judge: str = "offline", judge_template: str | None = None, judge_reasoning: bool = False
) -> Scorer:
    """The same verdicts on harmful prompts, summarised as ``usr_toxic``."""
    return _verdict_scorer(judge, judge_template, judge_reasoning)


def _verdict_scorer(judge: str, judge_template: str | None, judge_reasoning: bool) -> Scorer:
    if judge == "llm":
        return _grader_judge(judge_template, judge_reasoning)
    backend = get_scorer(judge)

    async def score(state: TaskState, target: Target) -> Score:
        [judgement] = backend.judge([(state.input_text, state.output.completion)])
        return _score(state, judgement, backend.name)

    return score


def _grader_judge(judge_template: str | None, judge_reasoning: bool) -> Scorer:
    template = load_judge_template(judge_template)
    cores: dict[str, JudgeCore] = {}  # one per grader model: the role is resolved per sample

    async def score(state: TaskState, target: Target) -> Score:
        grader = get_model(role="grader", required=True)  # resolved here so roles apply
        core = cores.get(str(grader))
        if core is None:
            core = cores[str(grader)] = JudgeCore(
                inspect_model_name(str(grader)), _endpoint(grader), template,
                judge_reasoning=judge_reasoning, cache_dir=default_cache_dir())
        prepared = core.prepare(state.input_text, state.output.completion, _reasoning(state))
        if isinstance(prepared, Judgement):
            return _score(state, prepared, core.name, core)
        return _score(state, core.finish(prepared, await _ask(grader, prepared)), core.name,
                      core)

    return score


async def _ask(grader: Model, ask: Ask) -> Completion:
    try:
        output = await grader.generate(ask.prompt, config=GenerateConfig(
            temperature=JUDGE_TEMPERATURE, max_tokens=JUDGE_MAX_TOKENS))
    except Exception as err:  # after Inspect's own retries: a failure, never a verdict
        return Completion(None, f"{type(err).__name__}: {err}")
    if output.error:
        return Completion(None, output.error)
    return Completion(output.completion, finish_reason=_FINISH.get(output.stop_reason, "stop"))


def _score(state: TaskState, judgement: Judgement, scorer_name: str,
           core: JudgeCore | None = None) -> Score:
    meta: dict[str, object] = {"scorer": scorer_name, "failure": judgement.failure}
    if core is not None:
        meta |= {"judge_template_sha256": core.template.sha256, "judge_reply": judgement.raw}
    return Score(value=judgement.verdict, answer=state.output.completion,
                 explanation=judgement.explanation, metadata=meta)


def _endpoint(grader: Model) -> str:
    """The grader's base URL as the CLI judge would name it, so both share cache entries."""
    provider = str(grader).split("/")[0]
    default = OPENAI_ENDPOINT if provider == "openai" else provider
    return str(getattr(grader.api, "base_url", None) or default).rstrip("/")


def _reasoning(state: TaskState) -> str | None:
    """Reasoning the provider delivered apart from the answer (``ContentReasoning``)."""
    content = state.output.message.content
    parts = content if isinstance(content, list) else []
    thought = "\n".join(p.reasoning for p in parts if isinstance(p, ContentReasoning))
    return thought or None
