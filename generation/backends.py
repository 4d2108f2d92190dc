"""Model backends behind one interface: a batch of chat requests in, one completion each out.

- ``openai``: any OpenAI-compatible endpoint, through the client the LLM judge uses
  (concurrency, retries, several endpoints sharing one queue); a JSON role's schema goes out as
  ``response_format``;
- ``vllm``: in-process; every batch is one ``LLM.chat`` call, tensor parallelism passed through,
  a JSON role's schema enforced by vLLM's structured outputs (optional extra, imported only when
  used);
- ``transformers``: small local models on CPU, in micro-batches (no constrained decoding: a
  malformed JSON reply is re-asked, as on every backend);
- ``scripted``: deterministic agents that need no model (``generation.scripted``).

Each backend reports completions through ``on_done`` as they finish, which is where the caller
journals them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from falsereject.llm_client import ChatClient, ChatRequest, ClientSettings, Completion

OnDone = Callable[[int, Completion], None]


@dataclass(frozen=True)
class GenRequest:
    role: str  # graph, generator, ..., or pool
    model: str
    messages: tuple[dict[str, str], ...]
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int = 0
    # the structured inputs the messages were rendered from; only the scripted backend reads it
    context: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # the reply's JSON schema, for backends that constrain decoding (None: free text)
    json_schema: Mapping[str, Any] | None = field(default=None, compare=False)

    def key(self, backend_type: str) -> str:
        """What identifies the call in the journal: everything that can change the reply."""
        body = {"backend": backend_type, "role": self.role, "model": self.model,
                "messages": self.messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "seed": self.seed}
        if self.json_schema is not None:  # absent otherwise: earlier journals stay valid
            body["json_schema"] = self.json_schema
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class Backend(Protocol):
    type: str

    def generate(self, requests: Sequence[GenRequest], on_done: OnDone) -> list[Completion]: ...


def make_backend(config: Any, resolve: Callable[[str], str]) -> Backend:
    """The backend for one ``backends:`` entry of the pipeline file."""
    if config.type == "scripted":
        from falsereject.generation.scripted import ScriptedBackend

        return ScriptedBackend(latency=config.latency, malformed_rate=config.malformed_rate)
    if config.type == "openai":
        return OpenAIBackend(config)
    if config.type == "transformers":
        return TransformersBackend(config, resolve)
    if config.type == "vllm":
        return VLLMBackend(config)
    raise ValueError(f"unknown backend type {config.type!r}")


class OpenAIBackend:
    type = "openai"

    def __init__(self, config: Any) -> None:
        self.client = ChatClient(ClientSettings(
            base_urls=tuple(config.base_urls) or (None,),
            api_key=os.environ.get(config.api_key_env),
            concurrency=config.concurrency,
            max_retries=config.max_retries,
            request_timeout=config.request_timeout,
            total_timeout=config.total_timeout,
        ))

    def generate(self, requests: Sequence[GenRequest], on_done: OnDone) -> list[Completion]:
        chat = [ChatRequest(r.messages, r.model, r.temperature, r.max_tokens, r.seed,
                            _response_format(r)) for r in requests]
        return self.client.complete(chat, on_done)


class VLLMBackend:
    """One engine per model, loaded on first use, through the project's one vLLM runner. A stage
    round's requests for a model go out together (in ``batch_size`` chunks, when set); a
    request the engine rejects (too long for ``max_model_len``) fails alone."""

    type = "vllm"

    def __init__(self, config: Any) -> None:
        self.config = config
        self.runners: dict[str, Any] = {}

    @property
    def calls(self) -> int:
        """Engine calls made, for the throughput benchmark."""
        return sum(runner.calls for runner in self.runners.values())

    def generate(self, requests: Sequence[GenRequest], on_done: OnDone) -> list[Completion]:
        from falsereject.vllm_engine import sampling_params

        results: list[Completion] = [Completion(None, "not generated")] * len(requests)
        for model, indices in _by_model(requests).items():
            size = self.config.batch_size or len(indices)
            for start in range(0, len(indices), size):
                chunk = indices[start:start + size]
                params = [sampling_params(temperature=requests[i].temperature,
                                          max_tokens=requests[i].max_tokens,
                                          seed=requests[i].seed,
                                          json_schema=requests[i].json_schema) for i in chunk]

                def done(k: int, completion: Completion, chunk: list[int] = chunk) -> None:
                    results[chunk[k]] = completion
                    on_done(chunk[k], completion)

                self._runner(model).chat([requests[i].messages for i in chunk], params, done)
        return results

    def _runner(self, model: str) -> Any:
        if model not in self.runners:
            from falsereject.vllm_engine import VLLMRunner

            options = {"tensor_parallel_size": self.config.tensor_parallel_size,
                       "gpu_memory_utilization": self.config.gpu_memory_utilization,
                       # JSON without free whitespace: a small model under a schema otherwise
                       # spends its tokens on indentation and is cut off mid-object
                       "structured_outputs_config": {"backend": "xgrammar",
                                                     "disable_any_whitespace": True}}
            if self.config.max_model_len:
                options["max_model_len"] = self.config.max_model_len
            self.runners[model] = VLLMRunner(model, **{**options, **self.config.engine_args})
        return self.runners[model]


class TransformersBackend:
    """Local causal LMs with transformers, greedy at temperature 0, in micro-batches."""

    type = "transformers"

    def __init__(self, config: Any, resolve: Callable[[str], str]) -> None:
        self.config = config
        self.resolve = resolve
        self.models: dict[str, tuple[Any, Any]] = {}

    def generate(self, requests: Sequence[GenRequest], on_done: OnDone) -> list[Completion]:
        results: list[Completion] = [Completion(None, "not generated")] * len(requests)
        size = self.config.batch_size or 8
        for model, indices in _by_model(requests).items():
            for start in range(0, len(indices), size):
                chunk = indices[start:start + size]
                completions = self._batch(model, [requests[i] for i in chunk])
                for index, completion in zip(chunk, completions, strict=True):
                    results[index] = completion
                    on_done(index, completion)
        return results

    def _batch(self, model_name: str, requests: list[GenRequest]) -> list[Completion]:
        import torch

        model, tokenizer = self._load(model_name)
        texts = [_chat_text(tokenizer, r.messages) for r in requests]
        inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        inputs = inputs.to(self.config.device)
        first = requests[0]
        sample = first.temperature > 0
        torch.manual_seed(first.seed)  # sampled replies repeat for the same batch
        with torch.no_grad():
            output = model.generate(
                **inputs, max_new_tokens=max(r.max_tokens for r in requests), do_sample=sample,
                temperature=first.temperature if sample else None, top_p=None, top_k=None,
                pad_token_id=tokenizer.pad_token_id)
        width = inputs["input_ids"].shape[1]
        completions = []
        for row, request in enumerate(requests):
            new = output[row, width:width + request.max_tokens]
            new = new[new != tokenizer.pad_token_id]
            prompt_tokens = int(inputs["attention_mask"][row].sum())
            completions.append(Completion(
                tokenizer.decode(new, skip_special_tokens=True),
                tokens=prompt_tokens + len(new), prompt_tokens=prompt_tokens,
                completion_tokens=len(new)))
        return completions

    def _load(self, name: str) -> tuple[Any, Any]:
        if name not in self.models:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            path = self.resolve(name)
            extra = {"gguf_file": self.config.gguf_file} if self.config.gguf_file else {}
            tokenizer = AutoTokenizer.from_pretrained(path, **extra)
            tokenizer.padding_side = "left"  # generation continues from the right edge
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            model = AutoModelForCausalLM.from_pretrained(path, **extra).to(self.config.device)
            model.eval()
            self.models[name] = (model, tokenizer)
        return self.models[name]


def _response_format(request: GenRequest) -> dict[str, Any] | None:
    """OpenAI's structured-output field (vLLM serve reads it too). Not strict: OpenAI's strict
    mode refuses the length bounds the schemas carry."""
    if request.json_schema is None:
        return None
    return {"type": "json_schema", "json_schema": {
        "name": request.role, "schema": dict(request.json_schema), "strict": False}}


def _chat_text(tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(list(messages), tokenize=False,
                                             add_generation_prompt=True)
    turns = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n\n".join(turns) + "\n\nassistant:"


def _by_model(requests: Sequence[GenRequest]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request.model, []).append(index)
    return groups
