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
- **Progress as answers complete.** vLLM's own bar (on stderr) counts requests as they finish,
  with token speeds; a call still hands the engine everything at once, so continuous batching
  keeps every slot busy.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from falsereject.llm_client import Completion

Conversation = Sequence[Mapping[str, str]]
OnDone = Callable[[int, Completion], None]


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
             on_done: OnDone) -> list[Completion]:
        """One completion per conversation, in order; ``params`` are vLLM ``SamplingParams``,
        one per conversation."""
        results: list[Completion] = [Completion(None, "not generated")] * len(conversations)
        if conversations:
            with stdout_to_stderr():
                self._batch(self._engine(), conversations, params,
                            list(range(len(conversations))), results, on_done)
        return results

    def _batch(self, llm: Any, conversations: Sequence[Conversation], params: Sequence[Any],
               indices: list[int], results: list[Completion], on_done: OnDone) -> None:
        self.calls += 1
        try:
            outputs = llm.chat([list(conversations[i]) for i in indices],
                               [params[i] for i in indices], use_tqdm=True)
        except Exception as err:  # noqa: BLE001 - vLLM's per-request errors have no common base
            if len(indices) == 1:
                message = f"vLLM rejected the request: {type(err).__name__}: {err}"
                results[indices[0]] = Completion(None, message[:500])
                on_done(indices[0], results[indices[0]])
                return
            half = len(indices) // 2
            for part in (indices[:half], indices[half:]):
                self._batch(llm, conversations, params, part, results, on_done)
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


def sampling_params(**kwargs: Any) -> Any:
    from vllm import SamplingParams  # optional extra: falsereject[vllm]

    return SamplingParams(**kwargs)
