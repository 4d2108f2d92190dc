"""The one in-process vLLM runner, shared by the LLM judge (``--judge-backend vllm``) and the
generation pipeline's ``vllm`` backend.

What it adds to ``vllm.LLM.chat``:

- **One bad request fails alone.** vLLM rejects a prompt longer than the context with its own
  exception class (``VLLMValidationError``, not ``ValueError``), and the whole batch call fails.
  Any exception from a batch is bisected down to the requests that raise it; each of those gets a
  failed ``Completion`` with the engine's message, and every other request is answered.
- **stdout stays ours.** vLLM logs to stdout, from this process and from the engine processes it
  starts. While an engine is built and run, file descriptor 1 points at stderr, so a command's
  stdout (metrics JSON, a table) still parses.
- **No orphaned engine.** The engine core runs in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``
  unless the user set it), so killing falsereject, even with SIGKILL, leaves no engine process
  holding memory.
- **Progress as answers complete.** vLLM reports each finished request to a progress bar, but
  hands back the outputs only when the whole call ends. A caller with a bar of its own passes
  ``on_progress`` and that bar moves with each finished request (vLLM's is not drawn); otherwise
  vLLM's own bar shows, on stderr. A call still hands the engine everything at once, so
  continuous batching keeps every slot busy.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from falsereject.llm_client import Completion

Conversation = Sequence[Mapping[str, str]]
OnDone = Callable[[int, Completion], None]
OnProgress = Callable[[int], None]  # n more requests finished


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send stdout to stderr for the duration: ``sys.stdout`` (so handlers vLLM configures
    meanwhile keep stderr) and file descriptor 1 (for handlers made earlier, native code and the
    processes started meanwhile, which keep it). Both are restored after."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class VLLMRunner:
    """One engine for one model, built on first use with ``engine_args``."""

    def __init__(self, model: str, **engine_args: Any) -> None:
        self.model = model
        self.engine_args = engine_args
        self._llm: Any = None
        self.calls = 0  # engine calls made (batches and bisections)

    def chat(self, conversations: Sequence[Conversation], params: Sequence[Any],
             on_done: OnDone, on_progress: OnProgress | None = None) -> list[Completion]:
        """One completion per conversation, in order; ``params`` are vLLM ``SamplingParams``,
        one per conversation. ``on_done`` sees each completion when its engine call returns;
        ``on_progress`` hears of each request as the engine finishes it."""
        results: list[Completion] = [Completion(None, "not generated")] * len(conversations)
        bar = _progress_bar(on_progress) if on_progress else True
        if conversations:
            with stdout_to_stderr():
                self._batch(self._engine(), conversations, params,
                            list(range(len(conversations))), results, on_done, bar)
        return results

    def _batch(self, llm: Any, conversations: Sequence[Conversation], params: Sequence[Any],
               indices: list[int], results: list[Completion], on_done: OnDone,
               bar: Any) -> None:
        self.calls += 1
        try:
            outputs = llm.chat([list(conversations[i]) for i in indices],
                               [params[i] for i in indices], use_tqdm=bar)
        except Exception as err:  # noqa: BLE001 - vLLM's per-request errors have no common base
            if len(indices) == 1:
                message = f"vLLM rejected the request: {type(err).__name__}: {err}"
                results[indices[0]] = Completion(None, message[:500])
                on_done(indices[0], results[indices[0]])
                return
            half = len(indices) // 2
            for part in (indices[:half], indices[half:]):
                self._batch(llm, conversations, params, part, results, on_done, bar)
            return
        for index, output in zip(indices, outputs, strict=True):
            first = output.outputs[0]
            prompt_tokens = len(output.prompt_token_ids or [])
            completion_tokens = len(first.token_ids or [])
            results[index] = Completion(first.text, tokens=prompt_tokens + completion_tokens,
                                        prompt_tokens=prompt_tokens,
                                        completion_tokens=completion_tokens,
                                        finish_reason=getattr(first, "finish_reason", None))
            on_done(index, results[index])

    def _engine(self) -> Any:
        if self._llm is None:
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
            from vllm import LLM  # optional extra: falsereject[vllm]

            self._llm = LLM(model=self.model, **self.engine_args)
        return self._llm


def _progress_bar(on_progress: OnProgress) -> Callable[..., Any]:
    """What ``LLM.chat(use_tqdm=...)`` accepts as a tqdm factory: the bar over finished requests
    reports to ``on_progress``; the one over rendering conversations is not drawn."""

    def make(iterable: Any = None, **options: Any) -> Any:
        return iterable if iterable is not None else _Ticker(on_progress)

    return make


class _Ticker:
    """The part of a tqdm bar vLLM's engine loop touches."""

    def __init__(self, on_progress: OnProgress) -> None:
        self.on_progress = on_progress
        self.n = 0
        self.postfix = ""
        self._start = time.monotonic()

    @property
    def format_dict(self) -> dict[str, float]:
        return {"elapsed": max(time.monotonic() - self._start, 1e-6)}

    def update(self, n: int = 1) -> None:
        self.n += n
        self.on_progress(n)

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def sampling_params(json_schema: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """vLLM ``SamplingParams``; with ``json_schema``, decoding is constrained to it (vLLM's
    structured outputs)."""
    import vllm.sampling_params as vllm_params  # optional extra: falsereject[vllm]

    if json_schema is not None:
        kwargs["structured_outputs"] = vllm_params.StructuredOutputsParams(json=dict(json_schema))
    return vllm_params.SamplingParams(**kwargs)
