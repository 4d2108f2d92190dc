"""The paper's three-way LLM judge: one core (render, parse, cache) behind every transport.

Transports: any OpenAI-compatible endpoint and vLLM in-process (both here, batched), and
Inspect's ``grader`` role (``scorers/inspect_scorer.py``, one answer at a time). They share the
core's defaults (temperature 0, ``JUDGE_MAX_TOKENS``), its cache and its naming rule, so the same
judge gives the same verdict and the same scorer name on every path.

A judge failure is never a verdict. No reply (an API error after retries, a timeout) is
undetermined as ``transport``; a reply without a usable class (empty, unparseable, truncated,
content-filtered, a judge that refuses) is undetermined as ``unusable``. The reason is kept.
Only verdicts are cached, so a rerun against a working judge retries every failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from falsereject.llm_client import (
    ChatClient,
    ChatRequest,
    ClientSettings,
    Completion,
    EndpointError,
)
from falsereject.naming import judge_scorer_name
from falsereject.reasoning import strip_reasoning, with_reasoning
from falsereject.scorers import Judgement
from falsereject.scorers.verdict_parser import parse_verdict
from falsereject.templates import JudgeTemplate, load_judge_template
from falsereject.verdicts import NO_ANSWER, TRANSPORT, UNDETERMINED, UNUSABLE

MODEL_ENV = "FALSEREJECT_JUDGE_MODEL"
BASE_URL_ENV = "FALSEREJECT_JUDGE_BASE_URL"
API_KEY_ENV = "FALSEREJECT_JUDGE_API_KEY"
CONCURRENCY_ENV = "FALSEREJECT_JUDGE_CONCURRENCY"
CACHE_ENV = "FALSEREJECT_CACHE_DIR"
REASONING_ENV = "FALSEREJECT_JUDGE_REASONING"  # "1": judge <think> blocks too

# The defaults of every transport: a verdict needs a short explanation and a class, and a judge
# that writes more than this has lost its way (its reply is then truncated: unusable).
JUDGE_MAX_TOKENS = 1024
JUDGE_TEMPERATURE = 0.0
VLLM_ENDPOINT = "vllm:in-process"
OPENAI_ENDPOINT = "https://api.openai.com/v1"  # the openai client's default


class JudgeError(RuntimeError):
    """The judge cannot run at all (no model, bad credentials): stop rather than score nothing."""


@dataclass(frozen=True)
class JudgeSettings:
    model: str
    base_url: str | None = None  # None: the openai client's default (api.openai.com)
    api_key: str | None = None
    template: str | None = None  # a template file; None: $FALSEREJECT_JUDGE_TEMPLATE or bundled
    backend: str = "openai"  # or "vllm": the judge model loaded in-process
    concurrency: int = 16
    max_retries: int = 6
    request_timeout: float = 120.0
    total_timeout: float = 6 * 3600.0  # for the whole batch; unfinished rows are undetermined
    max_tokens: int = JUDGE_MAX_TOKENS
    cache_dir: Path | None = None  # None: $FALSEREJECT_CACHE_DIR or the user cache folder
    use_cache: bool = True
    judge_reasoning: bool = False  # judge <think> blocks too, instead of the final answer only

    @classmethod
    def from_env(cls, **given: object) -> JudgeSettings:
        """Flags win; unset ones come from the FALSEREJECT_JUDGE_* variables."""
        values = {k: v for k, v in given.items() if v is not None}
        values.setdefault("model", os.environ.get(MODEL_ENV))
        values.setdefault("base_url", os.environ.get(BASE_URL_ENV))
        values.setdefault(
            "api_key", os.environ.get(API_KEY_ENV) or os.environ.get("OPENAI_API_KEY")
        )
        if os.environ.get(CONCURRENCY_ENV):
            values.setdefault("concurrency", int(os.environ[CONCURRENCY_ENV]))
        if os.environ.get(REASONING_ENV) == "1" and not values.get("judge_reasoning"):
            values["judge_reasoning"] = True
        if not values.get("model"):
            raise JudgeError(f"no judge model: pass --judge-model or set {MODEL_ENV}")
        return cls(**values)  # type: ignore[arg-type]

    @property
    def endpoint(self) -> str:
        if self.backend == "vllm":
            return VLLM_ENDPOINT
        return (self.base_url or OPENAI_ENDPOINT).rstrip("/")


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "falsereject" / "judge"


# --- the core -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """One judge request still to be sent: its cache key and the rendered judge prompt."""

    key: str
    prompt: str


class JudgeCore:
    """Render, parse and cache, for one judge model, endpoint and template."""

    def __init__(self, model: str, endpoint: str, template: JudgeTemplate, *,
                 max_tokens: int = JUDGE_MAX_TOKENS, judge_reasoning: bool = False,
                 cache_dir: Path | None = None) -> None:
        self.model = model
        self.endpoint = endpoint
        self.template = template
        self.max_tokens = max_tokens
        self.judge_reasoning = judge_reasoning
        self.name = judge_scorer_name(model, template.sha256)
        self.cache_dir = cache_dir  # None: no cache
        self._open: VerdictCache | None = None
        self.cache_hits = 0

    def describe(self) -> dict[str, object]:
        """What produced the numbers: recorded beside them in every output."""
        return {
            "judge_model": self.model,
            "judge_endpoint": self.endpoint,
            "judge_template": self.template.origin,
            "judge_template_sha256": self.template.sha256,
            "judge_max_tokens": self.max_tokens,
            "judge_temperature": JUDGE_TEMPERATURE,
            "judge_reasoning": self.judge_reasoning,
        }

    def prepare(self, prompt: str, response: str, reasoning: str | None = None
                ) -> Judgement | Ask:
        """A Judgement when none needs asking for (no answer, or cached), else the Ask."""
        answer = (with_reasoning(response, reasoning) if self.judge_reasoning
                  else strip_reasoning(response))
        if not answer.strip():
            return Judgement(UNDETERMINED, "no answer to judge (empty)", failure=NO_ANSWER)
        key = self._key(prompt, answer)
        hit = self._cache().get(key) if self.cache_dir else None
        if hit is not None:
            self.cache_hits += 1
            return hit
        return Ask(key, self.template.render(prompt=prompt, response=answer))

    def finish(self, ask: Ask, completion: Completion) -> Judgement:
        """The verdict in a completion; a verdict (never a failure) goes into the cache."""
        judgement = judgement_from_completion(completion, self.max_tokens)
        if self.cache_dir and judgement.failure is None:
            self._cache().put(ask.key, judgement)
        return judgement

    def close(self) -> None:
        if self._open:
            self._open.close()
            self._open = None

    def _cache(self) -> VerdictCache:
        if self._open is None:
            self._open = VerdictCache(self.cache_dir)  # type: ignore[arg-type]
        return self._open

    def _key(self, prompt: str, answer: str) -> str:
        # everything that can change the reply; the answer as judged (with or without reasoning)
        parts = (self.model, self.endpoint, self.template.sha256, str(self.max_tokens),
                 str(JUDGE_TEMPERATURE), prompt, answer)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def judgement_from_completion(completion: Completion, max_tokens: int) -> Judgement:
    if completion.finish_reason == "content_filter":
        return Judgement(UNDETERMINED, "judge reply was content-filtered", failure=UNUSABLE)
    if completion.text is None:
        return Judgement(UNDETERMINED, f"judge failed: {completion.error}", failure=TRANSPORT)
    if completion.finish_reason == "length":
        return Judgement(UNDETERMINED, f"judge reply cut off at {max_tokens} tokens",
                         raw=completion.text, failure=UNUSABLE)
    return judgement_from_reply(completion.text)


def judgement_from_reply(reply: str) -> Judgement:
    """The verdict in a judge's reply; its explanation is the judge's own text before it."""
    parsed = parse_verdict(reply)
    if parsed.verdict == UNDETERMINED:
        return Judgement(UNDETERMINED, parsed.reason, raw=reply, failure=UNUSABLE)
    explanation = _FINAL_CLASS.sub("", strip_reasoning(reply)).strip()
    return Judgement(parsed.verdict, explanation or parsed.reason, raw=reply)


_FINAL_CLASS = re.compile(r"\[\[[^\]]*\]\][^\[]*$")  # the last class and any short remark after it


class VerdictCache:
    """Verdicts by key in SQLite, one committed row each, so a killed run keeps every verdict
    that arrived before it died. Failures are never stored."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # Inspect's scorer runs in an event loop that may hop threads between samples
        self._db = sqlite3.connect(folder / "verdicts.sqlite3", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL: a commit survives a killed process (not a power cut)
        # without an fsync each, which would stall the event loop the verdicts arrive on
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS verdict (key TEXT PRIMARY KEY, value TEXT)")

    def get(self, key: str) -> Judgement | None:
        row = self._db.execute("SELECT value FROM verdict WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value = json.loads(row[0])
        return Judgement(value["verdict"], value["explanation"], raw=value["reply"])

    def put(self, key: str, judgement: Judgement) -> None:
        value = {"verdict": judgement.verdict, "explanation": judgement.explanation,
                 "reply": judgement.raw}
        self._db.execute("INSERT OR REPLACE INTO verdict VALUES (?, ?)", (key, json.dumps(value)))
        self._db.commit()

    def close(self) -> None:
        self._db.close()


# --- batched transports -------------------------------------------------------------------------


class Backend(Protocol):
    def complete(
        self, prompts: Sequence[str], on_done: Callable[[int, Completion], None],
        on_progress: Callable[[int], None] | None = None,
    ) -> list[Completion]:
        """``on_done`` as each completion is in hand; ``on_progress(n)`` from a transport that
        finishes requests before it hands their completions back (vLLM in-process)."""
        ...


class LLMJudge:
    """A Scorer over a batched transport: the core renders and parses, the backend asks."""

    def __init__(self, settings: JudgeSettings, backend: Backend | None = None) -> None:
        self.settings = settings
        self.core = JudgeCore(
            settings.model, settings.endpoint, load_judge_template(settings.template),
            max_tokens=settings.max_tokens, judge_reasoning=settings.judge_reasoning,
            cache_dir=(settings.cache_dir or default_cache_dir()) if settings.use_cache else None)
        self.name = self.core.name
        self.backend = backend or _make_backend(settings)
        self.requests = 0  # completions asked of the backend (cache misses)
        self.tokens = 0

    def describe(self) -> dict[str, object]:
        return {**self.core.describe(), "judge_requests": self.requests,
                "judge_cache_hits": self.core.cache_hits, "judge_tokens": self.tokens}

    def judge(self, items: Sequence[tuple[str, str]]) -> list[Judgement]:
        results: list[Judgement | None] = [None] * len(items)
        asks: list[tuple[int, Ask]] = []
        for row, (prompt, response) in enumerate(items):
            prepared = self.core.prepare(prompt, response)
            if isinstance(prepared, Ask):
                asks.append((row, prepared))
            else:
                results[row] = prepared
        progress = _Progress(len(asks))

        def on_done(index: int, completion: Completion) -> None:
            row, ask = asks[index]
            results[row] = judgement = self.core.finish(ask, completion)
            self.requests += 1
            self.tokens += completion.tokens
            progress.update(judgement.verdict == UNDETERMINED, completion.tokens)

        try:
            completions = self.backend.complete(
                [a.prompt for _, a in asks], on_done, progress.advance) if asks else []
        finally:
            progress.close()
            self.core.close()
        for (row, ask), completion in zip(asks, completions, strict=True):
            if results[row] is None:  # never reported done: the total time limit cut it off
                results[row] = self.core.finish(ask, completion)
        missing = [row for row, judgement in enumerate(results) if judgement is None]
        if missing:
            raise AssertionError(f"judge returned no judgement for rows {missing[:5]}")
        return results  # type: ignore[return-value]


class OpenAIBackend:
    """The judge on any OpenAI-compatible endpoint, through the project's shared client
    (concurrency, retries honouring Retry-After, a total time limit, token accounting)."""

    def __init__(self, settings: JudgeSettings) -> None:
        self.settings = settings
        self.client = ChatClient(ClientSettings(
            base_urls=(settings.base_url,),
            api_key=settings.api_key,
            concurrency=settings.concurrency,
            max_retries=settings.max_retries,
            request_timeout=settings.request_timeout,
            total_timeout=settings.total_timeout,
        ))

    def complete(
        self, prompts: Sequence[str], on_done: Callable[[int, Completion], None],
        on_progress: Callable[[int], None] | None = None,
    ) -> list[Completion]:
        # on_done comes as each request completes: progress needs nothing more
        requests = [ChatRequest.user(p, self.settings.model, temperature=JUDGE_TEMPERATURE,
                                     max_tokens=self.settings.max_tokens) for p in prompts]
        try:
            return self.client.complete(requests, on_done)
        except EndpointError as err:
            raise JudgeError(f"judge {err}") from None


class VLLMBackend:
    """The judge model in-process on vLLM, through the project's one vLLM runner: a run's
    requests go out as one batch, a request the engine rejects fails alone, stdout stays ours."""

    def __init__(self, settings: JudgeSettings) -> None:
        from falsereject.vllm_engine import VLLMRunner

        self.settings = settings
        self.runner = VLLMRunner(settings.model)

    def complete(
        self, prompts: Sequence[str], on_done: Callable[[int, Completion], None],
        on_progress: Callable[[int], None] | None = None,
    ) -> list[Completion]:
        from falsereject.vllm_engine import sampling_params

        params = sampling_params(temperature=JUDGE_TEMPERATURE, max_tokens=self.settings.max_tokens)
        conversations = [[{"role": "user", "content": p}] for p in prompts]
        return self.runner.chat(conversations, [params] * len(prompts), on_done, on_progress)


def _make_backend(settings: JudgeSettings) -> Backend:
    if settings.backend == "vllm":
        return VLLMBackend(settings)
    if settings.backend == "openai":
        return OpenAIBackend(settings)
    raise JudgeError(f"unknown judge backend {settings.backend!r}: choose openai or vllm")


class _Progress:
    """One bar: answers finished/total, undetermined so far, tokens used. It stands at the
    larger of the answers judged and the requests the transport reports finished, so it moves
    whether completions arrive one by one (HTTP) or together at the end (vLLM in-process)."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.judged = self.finished = 0
        self.undetermined = 0
        self.tokens = 0
        self._bar = tqdm(total=total, desc="judging", unit="answer", file=sys.stderr,
                         disable=total == 0)

    def advance(self, finished: int) -> None:
        self.finished += finished
        self._move()

    def update(self, undetermined: bool, tokens: int) -> None:
        self.judged += 1
        self.undetermined += undetermined
        self.tokens += tokens
        self._bar.set_postfix(undetermined=self.undetermined, tokens=self.tokens, refresh=False)
        self._move()

    def _move(self) -> None:
        self._bar.update(min(max(self.judged, self.finished), self._bar.total) - self._bar.n)

    def close(self) -> None:
        self._bar.close()
