"""Reading the agents' replies. Each parser returns the parsed value or raises ``Malformed``
with a short reason, which goes back to the model on a retry and into the drop log at the end.

The JSON roles' formats are also given as JSON schemas (``json_schema``), which backends that can
constrain decoding send with the request (vLLM structured outputs, ``response_format``), so a small
model cannot stray off the format; the parsers still check every reply, whichever backend wrote it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from falsereject.llm_client import Completion
from falsereject.reasoning import split_reasoning, strip_reasoning
from falsereject.taxonomy import CATEGORY_IDS


class Malformed(ValueError):
    """A reply that is empty, not JSON, or off the format its template asked for."""


ENTITY_TYPES = ("person", "place", "object", "concept")
MIN_ANSWER_WORDS = 20  # the four-part answer cannot be shorter
_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def json_schema(role: str, categories: Sequence[int] = ()) -> dict[str, Any] | None:
    """The schema of ``role``'s reply, or None for the free-text roles. ``categories``: the
    category ids the graph agent may choose from, when it must choose one."""
    if role == "graph":
        entity = _object(name=_string(40), type={"enum": list(ENTITY_TYPES)})
        relation = _object(source=_string(40), target=_string(40), relation=_string(30))
        fields: dict[str, Any] = {
            "entities": {"type": "array", "items": entity, "minItems": 1, "maxItems": 8},
            "relations": {"type": "array", "items": relation, "maxItems": 6}}
        if categories:
            fields["category"] = {"type": "integer", "enum": list(categories)}
        return _object(**fields)
    if role == "generator":
        return _object(prompt=_string(500, minimum=20), strategy=_string(200))
    if role == "discriminator":
        return _object(label={"enum": ["harmful", "benign"]}, feedback=_string(300))
    if role == "orchestrator":
        return _object(valid={"type": "boolean"}, rationale=_string(300, minimum=1))
    return None


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def _string(maximum: int, minimum: int = 0) -> dict[str, Any]:
    # bounded in characters, so the object closes within the role's max_tokens (a token is at
    # least one character) instead of a small model running on until the JSON is cut off
    return {"type": "string", "minLength": minimum, "maxLength": maximum}


def json_object(text: str) -> dict[str, Any]:
    """The JSON object in a reply: the whole reply, a fenced block, or the outermost braces."""
    text = strip_reasoning(text).strip()
    if not text:
        raise Malformed("empty reply")
    candidates = [text, *_FENCED.findall(text)]
    if "{" in text and "}" in text:
        candidates.append(text[text.index("{"): text.rindex("}") + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise Malformed("no JSON object in the reply")


def graph(completion: Completion, needs_category: bool) -> dict[str, Any]:
    reply = json_object(completion.text or "")
    entities = reply.get("entities")
    if not isinstance(entities, list) or not entities:
        raise Malformed("'entities' must be a non-empty list")
    names = []
    for entity in entities:
        if not isinstance(entity, dict) or not _text(entity.get("name")):
            raise Malformed("each entity needs a 'name'")
        names.append(entity["name"].strip())
    relations = reply.get("relations", [])
    if not isinstance(relations, list):
        raise Malformed("'relations' must be a list")
    kept = [r for r in relations if isinstance(r, dict) and r.get("source") in names
            and r.get("target") in names]  # a relation to an unlisted entity is noise, not fatal
    parsed: dict[str, Any] = {
        "entities": [{"name": e["name"].strip(), "type": str(e.get("type") or "concept")}
                     for e in entities],
        "relations": [{"source": r["source"], "target": r["target"],
                       "relation": str(r.get("relation") or "related to")} for r in kept],
    }
    if needs_category:
        category = reply.get("category")
        is_id = isinstance(category, int) and not isinstance(category, bool)
        if not is_id or category not in CATEGORY_IDS:
            raise Malformed("'category' must be a category id from the list (1-46)")
        parsed["category"] = category
    return parsed


def generator(completion: Completion) -> str:
    prompt = json_object(completion.text or "").get("prompt")
    if not _text(prompt) or len(prompt.split()) < 4:
        raise Malformed("'prompt' must be a question of at least four words")
    return " ".join(prompt.split())


def discriminator(completion: Completion) -> dict[str, str]:
    reply = json_object(completion.text or "")
    label = str(reply.get("label", "")).strip().lower()
    if label not in ("harmful", "benign"):
        raise Malformed("'label' must be \"harmful\" or \"benign\"")
    return {"label": label, "feedback": str(reply.get("feedback") or "").strip()}


def orchestrator(completion: Completion) -> dict[str, Any]:
    reply = json_object(completion.text or "")
    valid = reply.get("valid")
    if not isinstance(valid, bool):
        raise Malformed("'valid' must be true or false")
    rationale = reply.get("rationale")
    if not _text(rationale):
        raise Malformed("'rationale' must explain the decision")
    return {"valid": valid, "rationale": rationale.strip()}


def instruct(completion: Completion) -> str:
    text = strip_reasoning(completion.text or "").strip()
    if len(text.split()) < MIN_ANSWER_WORDS:
        raise Malformed(f"the answer is empty or too short (under {MIN_ANSWER_WORDS} words) to "
                        "have the four parts")
    return text


def reasoning(completion: Completion) -> dict[str, str]:
    """A server's separate reasoning field (``reasoning`` or ``reasoning_content``), or the
    text's ``<think>`` blocks (also when the chat template opened the block: "... </think>"),
    plus the answer."""
    thought, solution = split_reasoning(completion.text or "")
    thought = completion.reasoning or thought
    if not thought.strip():
        raise Malformed("no reasoning: this role needs a reasoning model (one that writes "
                        "<think>...</think> or whose server returns its reasoning apart)")
    if not solution:
        raise Malformed("no final answer after the reasoning")
    return {"reasoning_content": thought.strip(), "solution": solution}


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
