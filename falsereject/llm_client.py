"""One OpenAI-compatible chat client for every part that calls a remote model (the LLM judge,
the generation agents).

What it guarantees, because callers build accounting and resumption on it:

- every request ends as exactly one ``Completion``: text, or ``None`` with the reason;
- 429, 5xx, timeouts and connection errors are retried with exponential backoff, honouring
  ``Retry-After``; other 4xx answers are final for that request;
- bad credentials or an unknown model raise ``EndpointError``: nothing useful can follow;
- at most ``concurrency`` requests are in flight per endpoint; several endpoints share one
  queue, so a faster endpoint simply takes more of the work;
- the whole batch is bounded by ``total_timeout``; what did not finish says so;
- ``on_done`` is called as each request finishes (callers cache or journal there), and
  ``usage`` adds up requests, retries and tokens.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

TIMED_OUT = "total time limit reached before this request completed"


class EndpointError(RuntimeError):
    """The endpoint cannot serve this run at all (credentials, unknown model or route)."""


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[dict[str, str], ...]
    model: str
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int | None = None  # forwarded where the server supports it (vLLM, OpenAI)
    response_format: dict[str, Any] | None = field(default=None, compare=False)  # JSON schema

    @classmethod
    def user(cls, prompt: str, model: str, **options: Any) -> ChatRequest:
        return cls(({"role": "user", "content": prompt},), model, **options)


@dataclass(frozen=True)
class Completion:
    text: str | None  # None when the request failed
    error: str = ""
    tokens: int = 0  # prompt + completion
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning: str | None = None  # a reasoning model's separate reasoning_content, if any
    finish_reason: str | None = None  # "stop", "length" (cut at max_tokens), "content_filter"


@dataclass
class Usage:
    """Token accounting for one client, over all its batches."""

    requests: int = 0
    retries: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, completion: Completion) -> None:
        with self._lock:
            self.requests += 1
            self.failures += completion.text is None
            self.prompt_tokens += completion.prompt_tokens
            self.completion_tokens += completion.completion_tokens


@dataclass(frozen=True)
class ClientSettings:
    base_urls: tuple[str | None, ...] = (None,)  # None: the openai library's default endpoint
    api_key: str | None = None
    concurrency: int = 16  # requests in flight, per endpoint
    max_retries: int = 6
    request_timeout: float = 120.0
    total_timeout: float = 6 * 3600.0  # for one batch

    def __post_init__(self) -> None:
        if not self.base_urls:
            raise ValueError("ClientSettings: give at least one base URL (or None)")
        if self.concurrency < 1:
            raise ValueError(f"ClientSettings: concurrency must be at least 1, "
                             f"not {self.concurrency}")


OnDone = Callable[[int, Completion], None]


class ChatClient:
    """Concurrent chat completions over one or more OpenAI-compatible endpoints."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self.usage = Usage()

    def complete(
        self, requests: Sequence[ChatRequest], on_done: OnDone | None = None
    ) -> list[Completion]:
        """One completion per request, in order. Runs its own event loop (call from sync code)."""
        if not requests:
            return []
        return asyncio.run(self._complete_all(requests, on_done or (lambda i, c: None)))

    async def _complete_all(
        self, requests: Sequence[ChatRequest], on_done: OnDone
    ) -> list[Completion]:
        from openai import AsyncOpenAI

        clients = [
            AsyncOpenAI(base_url=url, api_key=self.settings.api_key or "unset",
                        max_retries=0,  # retries are ours, so every outcome is accounted for
                        timeout=self.settings.request_timeout)
            for url in self.settings.base_urls
        ]
        results = [Completion(None, TIMED_OUT)] * len(requests)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(len(requests)):
            queue.put_nowait(index)

        async def worker(client: Any) -> None:
            while not queue.empty():
                index = queue.get_nowait()
                completion = await self._complete_one(client, requests[index])
                results[index] = completion
                self.usage.add(completion)
                on_done(index, completion)

        workers = [asyncio.create_task(worker(client)) for client in clients
                   for _ in range(min(self.settings.concurrency, len(requests)))]
        try:
            done, pending = await asyncio.wait(
                workers, timeout=self.settings.total_timeout,
                return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    for other in pending:
                        other.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                    raise task.exception()  # type: ignore[misc]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        finally:
            for client in clients:
                await client.close()
        return results

    async def _complete_one(self, client: Any, request: ChatRequest) -> Completion:
        import openai

        for attempt in range(self.settings.max_retries + 1):
            try:
                response = await client.chat.completions.create(**_body(request))
            except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
                raise EndpointError(f"endpoint refused the credentials: {err}") from None
            except openai.NotFoundError as err:
                raise EndpointError(f"model or endpoint not found: {err}") from None
            except (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError,
                    openai.InternalServerError) as err:
                if attempt == self.settings.max_retries:
                    return Completion(None, f"{describe(err)} after {attempt + 1} attempts")
                with self.usage._lock:
                    self.usage.retries += 1
                await asyncio.sleep(backoff(err, attempt))
                continue
            except openai.APIStatusError as err:  # 400, 422 ...: retrying will not help
                return Completion(None, describe(err))
            return _completion(response)
        raise AssertionError("unreachable")


def _body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "messages": list(request.messages),
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    if request.seed is not None:
        body["seed"] = request.seed
    if request.response_format is not None:
        body["response_format"] = request.response_format
    return body


def _completion(response: Any) -> Completion:
    choice = response.choices[0]
    usage = response.usage
    prompt_tokens = (usage.prompt_tokens or 0) if usage else 0
    completion_tokens = (usage.completion_tokens or 0) if usage else 0
    counts = {"tokens": prompt_tokens + completion_tokens, "prompt_tokens": prompt_tokens,
              "completion_tokens": completion_tokens}
    if choice.finish_reason == "content_filter":
        return Completion(None, "reply was content-filtered", finish_reason="content_filter",
                          **counts)
    # reasoning models' thoughts come beside the content: "reasoning" (vLLM since 0.10,
    # OpenRouter) or "reasoning_content" (DeepSeek, older vLLM)
    message = choice.message
    reasoning = getattr(message, "reasoning", None) or getattr(message, "reasoning_content", None)
    return Completion(message.content or "", reasoning=reasoning,
                      finish_reason=choice.finish_reason, **counts)


def backoff(err: Exception, attempt: int) -> float:
    """Retry-After when the server gives one (capped), else exponential with jitter."""
    response = getattr(err, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header and re.fullmatch(r"\d+(\.\d+)?", header.strip()):
        return min(float(header), 60.0)
    return min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)


def describe(err: Exception) -> str:
    status = getattr(err, "status_code", None)
    kind = type(err).__name__
    return f"HTTP {status} ({kind})" if status else kind
