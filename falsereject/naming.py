"""One naming rule for models and judges, whichever harness ran them.

Inspect names a model ``<provider>/<model>`` (``hf/HuggingFaceTB/SmolLM2-135M-Instruct``,
``vllm/Qwen/Qwen2.5-7B``) and an OpenAI-compatible service ``openai-api/<service>/<model>``;
lm-eval names it by its ``pretrained=`` or ``model=`` argument. A model's name here is the
name the model itself goes by: Inspect's provider prefix (and ``openai-api``'s service) is
dropped, lm-eval's name is kept as it is. So one model run through both harnesses is one model
in every report, and one judge is one scorer.
"""

from __future__ import annotations


def inspect_model_name(name: str) -> str:
    """The model's own name, from the ``<provider>/...`` name Inspect gave it."""
    provider, sep, rest = name.partition("/")
    if not sep or not rest:
        return name
    if provider == "openai-api":
        _service, sep, model = rest.partition("/")
        return model if sep and model else rest
    return rest


def judge_scorer_name(judge_model: str, template_sha256: str) -> str:
    """``llm:<judge model>@<first 8 hex of the template hash>``: numbers are only comparable
    under one judge and one template."""
    return f"llm:{judge_model}@{template_sha256[:8]}"
