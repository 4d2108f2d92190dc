"""The one reasoning stripper: what a model finally said, without its ``<think>`` blocks.

Every scorer (the offline detector, the LLM judge on every transport) and the judge's reply
parser read answers through this, so all of them judge the same text.
"""

from __future__ import annotations

import re

_TAG = r"(?:think|thinking|reasoning)"
_CLOSED = re.compile(rf"<{_TAG}>.*?</{_TAG}>", re.S | re.I)
# Chat templates that open the block themselves leave "reasoning </think> answer": when a closing
# tag comes before any opening one, everything up to it is reasoning (lazy, so an answer that
# mentions the tag keeps its tail).
_DANGLING_CLOSE = re.compile(rf"^.*?</{_TAG}>", re.S | re.I)
# An opening tag never closed: the model ran out of tokens while still reasoning. It must open a
# line, so prose that mentions the tag ("models emit <think> first") keeps its tail.
_UNCLOSED_OPEN = re.compile(rf"^[ \t]*<{_TAG}>.*\Z", re.S | re.I | re.M)
_ANY_TAG = re.compile(rf"</?{_TAG}>", re.I)


def strip_reasoning(text: str) -> str:
    """``text`` without its reasoning blocks. An unclosed block runs to the end (the answer
    never came), so an answer that is all reasoning becomes empty. Text with no such tags comes
    back unchanged."""
    return split_reasoning(text)[1]


def split_reasoning(text: str) -> tuple[str, str]:
    """(the reasoning, without its tags; the answer): how ``strip_reasoning`` reads ``text``."""
    first = _ANY_TAG.search(text)
    if not first:
        return "", text
    thoughts: list[str] = []

    def keep(block: re.Match[str]) -> str:
        thoughts.append(_ANY_TAG.sub("", block.group()).strip())
        return " "

    if first.group().startswith("</"):
        text = _DANGLING_CLOSE.sub(keep, text, count=1)
    text = _CLOSED.sub(keep, text)
    text = _UNCLOSED_OPEN.sub(keep, text)
    return "\n\n".join(t for t in thoughts if t), text.strip()


def with_reasoning(answer: str, reasoning: str | None) -> str:
    """An answer with separately delivered reasoning (``reasoning_content``, Inspect's
    ``ContentReasoning``) put back in front as a ``<think>`` block, for judging both."""
    return f"<think>{reasoning}</think>\n{answer}" if reasoning else answer
