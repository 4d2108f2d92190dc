"""The generation pipeline end to end, offline: scripted agents, a random tiny Llama on
transformers, a loopback OpenAI-compatible pool, a fake vLLM; resume after SIGKILL; malformed
replies; config errors; the output read back by the validator, `datasets` and lm-eval; SFT export.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import (
    BIN,
    Recorder,
    harness_env,
    inspect_command,
    lm_eval_command,
    newest,
    run,
)
from falsereject.cli import main
from falsereject.data import read_jsonl
from falsereject.demo import cautious_reply
from falsereject.generation import diversity, parsing
from falsereject.generation.backends import GenRequest, VLLMBackend
from falsereject.generation.config import ConfigError, load_config
from falsereject.generation.journal import Journal
from falsereject.llm_client import Completion
from falsereject.scorers import OFFLINE_SCORER
from falsereject.server import serve

EXAMPLES = Path(str(resources.files("falsereject.generation") / "examples"))
SEEDS = EXAMPLES / "offline_seeds.jsonl"
DATASET_FILES = ("test.jsonl", "train.jsonl", "dropped.jsonl")


def offline_config(folder: Path, **changes: Any) -> Path:
    """The shipped offline example with ``changes`` merged in (dotted keys), beside its seeds."""
    config = yaml.safe_load((EXAMPLES / "offline.yaml").read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEEDS, folder / SEEDS.name)
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def generate(config: Path, out: Path) -> int:
    return main(["generate", "--config", str(config), "--output-dir", str(out)])


def stats(out: Path) -> dict[str, Any]:
    return json.loads((out / "stats.json").read_text())


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted run of the shipped offline example (reference for the resume test)."""
    out = tmp_path_factory.mktemp("offline") / "out"
    assert generate(EXAMPLES / "offline.yaml", out) == 0
    return out


# -- the offline example ---------------------------------------------------------------------------

def test_offline_example_writes_a_valid_falsereject_dataset(offline_run: Path) -> None:
    test = read_jsonl(offline_run / "test.jsonl", "test")
    train = read_jsonl(offline_run / "train.jsonl", "train")
    assert len(test) >= 5 and len(train) >= 10
    for row in test + train:
        assert 1 <= row["category"] <= 46 and row["category_text"]
        provenance = row["provenance"]
        refusals = [p for p in provenance["pool_verdicts"] if p["verdict"] == "direct_refusal"]
        assert len(refusals) == provenance["refusals"] >= 1  # k = 1, as in the paper
        assert provenance["seed"] and provenance["orchestrator_rationale"]
        assert row["prompt"] != provenance["seed"]
    for row in train:
        assert len(row["instruct_response"].split()) >= 20
        assert row["cot_response"]["reasoning_content"] and row["cot_response"]["solution"]
    prompts = [r["prompt"] for r in test + train]
    assert len(set(prompts)) == len(prompts)


def test_output_loads_with_datasets_and_has_a_card(offline_run: Path) -> None:
    from datasets import load_dataset

    data = load_dataset("json", data_files={s: str(offline_run / f"{s}.jsonl")
                                            for s in ("train", "test")})
    counts = stats(offline_run)["counts"]
    assert (data["train"].num_rows, data["test"].num_rows) == (counts["train"], counts["test"])
    assert data["train"][0]["cot_response"]["solution"]
    card = (offline_run / "README.md").read_text()
    assert card.startswith("---\n") and "path: train.jsonl" in card
    assert "Self-BLEU" in card and "scripted-cautious" in card


def test_stats_report_diversity_pool_refusals_and_tokens(offline_run: Path) -> None:
    summary = stats(offline_run)
    assert 0 < summary["diversity"]["self_bleu"] < 1 and 0 < summary["diversity"]["dist_2"] <= 1
    kept = summary["pool"]["kept_prompts"]
    assert kept["n"] > 0 and kept["refusal_rate_ci_low"] <= kept["refusal_rate"]
    assert summary["pool"]["scorer"] == OFFLINE_SCORER
    # one cautious model refusing and one helpful model complying: half of the pool answers
    assert kept["refusal_rate"] == pytest.approx(0.5)
    assert summary["total_tokens"] > 0
    assert set(summary["calls"]) == {"graph", "generator", "discriminator", "pool",
                                     "orchestrator", "instruct", "reasoning"}
    # the adversarial loop did its job: rejected candidates were rewritten from feedback
    assert summary["counts"]["judged_harmful"] > 0
    rounds = {r["provenance"]["round"] for r in read_jsonl(offline_run / "test.jsonl")}
    rounds |= {r["provenance"]["round"] for r in read_jsonl(offline_run / "train.jsonl", "train")}
    assert max(rounds) > 1


def test_entity_graphs_are_saved_as_networkx_node_link(offline_run: Path) -> None:
    from falsereject.generation.graph import load

    files = sorted((offline_run / "graphs").glob("seed-*.json"))
    assert len(files) == stats(offline_run)["counts"]["graphs"] == 24
    graph = load(files[0])
    assert graph.number_of_nodes() >= 2 and graph.number_of_edges() >= 1
    assert all("type" in data for _, data in graph.nodes(data=True))


def test_rerun_makes_no_call_and_reproduces_the_dataset(offline_run: Path, tmp_path: Path) -> None:
    before = {name: (offline_run / name).read_bytes() for name in DATASET_FILES}
    assert generate(EXAMPLES / "offline.yaml", offline_run) == 0
    assert all(stage["calls"] == 0 for stage in stats(offline_run)["calls"].values())
    assert {name: (offline_run / name).read_bytes() for name in DATASET_FILES} == before


# -- resume after SIGKILL ---------------------------------------------------------------------

def _journal_lines(out: Path) -> int:
    return sum(p.read_text().count("\n") for p in (out / "journal").glob("*.jsonl"))


def test_sigkill_then_rerun_gives_the_uninterrupted_dataset(
        offline_run: Path, tmp_path: Path) -> None:
    # the same pipeline, slowed down so that the kill lands mid-run (latency is not part of
    # the requests, so journals and results are those of the reference run)
    config = offline_config(tmp_path / "cfg", **{"backends.scripted.latency": 0.004})
    out = tmp_path / "out"
    command = [str(BIN / "falsereject"), "generate", "--config", str(config),
               "--output-dir", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (out / "journal").exists() or _journal_lines(out) < 300:
        assert process.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "test.jsonl").exists()  # killed mid-run: no partial dataset
    done_before_kill = _journal_lines(out)

    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in DATASET_FILES:
        assert (out / name).read_bytes() == (offline_run / name).read_bytes(), name
    resumed = stats(out)["calls"]
    reference = stats(offline_run)["calls"]
    assert (sum(s["calls"] + s["journalled"] for s in resumed.values())
            == sum(s["calls"] + s["journalled"] for s in reference.values()))
    # finished calls were not repeated: the calls of both parts add up to those of one
    # uninterrupted run (its journal), give or take the one in flight at the kill
    new_calls = sum(s["calls"] for s in resumed.values())
    assert done_before_kill + new_calls <= _journal_lines(offline_run) + 1
    assert _journal_lines(out) == done_before_kill + new_calls


def test_journal_drops_a_torn_last_record(tmp_path: Path) -> None:
    path = tmp_path / "stage.jsonl"
    journal = Journal(path)
    journal.put("k1", Completion("one", prompt_tokens=2, completion_tokens=1))
    journal.close()
    with open(path, "a") as out:
        out.write('{"key": "k2", "text": "tw')  # the kill landed mid-write
    journal = Journal(path)
    assert journal.get("k1").text == "one" and journal.get("k2") is None
    journal.put("k2", Completion("two"))
    journal.close()
    assert Journal(path).get("k2").text == "two"


# -- malformed replies ------------------------------------------------------------------------

def test_malformed_replies_are_asked_again_with_the_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = offline_config(tmp_path / "cfg", **{"backends.scripted.malformed_rate": 1.0,
                                                 "seeds.limit": 6})
    out = tmp_path / "out"
    assert generate(config, out) == 0
    calls = stats(out)["calls"]
    assert calls["graph"]["calls"] == 12  # every first reply was prose: each seed asked twice
    # the first-try parse rate says so, and the CLI's report prints it per stage
    assert (calls["graph"]["asked"], calls["graph"]["parsed_first_try"]) == (6, 0)
    assert "parsed first try 0/6 (0%)" in capsys.readouterr().out
    drops = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    assert not [d for d in drops if d["stage"] in ("graph", "generator", "orchestrator")]
    record = json.loads((out / "journal" / "graph.jsonl").read_text().splitlines()[0])
    assert "in prose" in record["text"]


# -- the tiny Llama on transformers -----------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random one-layer Llama and a word-level tokenizer, built offline in a folder."""
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    words = sorted({w.lower() for w in (SEEDS.read_text() + (EXAMPLES / "offline.yaml")
                                        .read_text()).split() if w.isalpha()})
    vocab = {t: i for i, t in enumerate(["<unk>", "<s>", "</s>", "<pad>", *words])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        pad_token="<pad>")
    tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n"
                               "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=4096, bos_token_id=1, eos_token_id=2,
                         pad_token_id=3)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_tiny_llama_answers_in_the_pool_and_writes_training_answers(
        tiny_llama: Path, tmp_path: Path) -> None:
    local = {"backend": "local", "model": str(tiny_llama), "max_tokens": 32}
    config = offline_config(
        tmp_path / "cfg", **{"backends.local": {"type": "transformers", "batch_size": 16},
                             "pool.models": [{"backend": "scripted", "model": "scripted-cautious"},
                                             local],
                             "roles.instruct": local, "seeds.limit": 4,
                             "adversarial.candidates_per_seed": 2})
    out = tmp_path / "out"
    assert generate(config, out) == 0
    train = read_jsonl(out / "train.jsonl", "train")
    assert train, "no training rows"
    row = train[0]
    assert [p["model"] for p in row["provenance"]["pool_verdicts"]] == ["scripted-cautious",
                                                                        str(tiny_llama)]
    # a random model's words, not the scripted assistant's four-part text
    assert "two ways" not in row["instruct_response"]
    summary = stats(out)
    assert summary["calls"]["instruct"]["completion_tokens"] > 0
    # greedy decoding: the same command again reproduces the run from the journal
    before = (out / "train.jsonl").read_bytes()
    assert generate(config, out) == 0
    assert (out / "train.jsonl").read_bytes() == before


def test_a_model_that_never_answers_in_json_is_dropped_with_reasons(
        tiny_llama: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = offline_config(
        tmp_path / "cfg", **{"backends.local": {"type": "transformers"},
                             "roles.graph": {"backend": "local", "model": str(tiny_llama),
                                             "max_tokens": 16},
                             "seeds.limit": 3, "malformed_retries": 1})
    out = tmp_path / "out"
    assert generate(config, out) == 1  # nothing survived: a failed run, said on stderr
    assert "no prompt survived" in capsys.readouterr().err
    drops = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    assert len(drops) == 3 and all(d["stage"] == "graph" for d in drops)
    assert all("(after 2 attempts)" in d["reason"] for d in drops)
    assert stats(out)["calls"]["graph"]["calls"] == 6  # bounded: one retry each


# -- vLLM (a fake module) and OpenAI-compatible endpoints -------------------------------------

class VLLMValidationError(Exception):
    """As in vLLM 0.32: a request the engine rejects raises its own class, not ValueError."""


class FakeLLM:
    """Stands in for vllm.LLM: records its settings and every batched call."""

    instances: list[FakeLLM] = []

    def __init__(self, model: str, **options: Any) -> None:
        self.model, self.options, self.batches = model, options, []
        FakeLLM.instances.append(self)

    def chat(self, conversations: list, params: list, use_tqdm: bool = False) -> list:
        self.batches.append(len(conversations))
        self.params = params
        if any("too long" in turn["content"] for c in conversations for turn in c):
            raise VLLMValidationError("prompt is longer than max_model_len")
        out = []
        for conversation in conversations:
            text = cautious_reply(self.model, conversation)
            out.append(types.SimpleNamespace(
                prompt_token_ids=[0] * 5,
                outputs=[types.SimpleNamespace(text=text, token_ids=[0] * 7)]))
        return out


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> type[FakeLLM]:
    FakeLLM.instances = []
    params = types.SimpleNamespace(SamplingParams=lambda **kw: kw,
                                   StructuredOutputsParams=lambda **kw: kw)
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=FakeLLM,
                                                                   sampling_params=params))
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", params)
    return FakeLLM


def test_vllm_backend_sends_one_batched_call(fake_vllm: type[FakeLLM]) -> None:
    config = load_config(EXAMPLES / "vllm.yaml").backends["vllm"]
    backend = VLLMBackend(config)
    schema = parsing.json_schema("discriminator")
    requests = [GenRequest("pool", "m", ({"role": "user", "content": f"how to kill process {i}"},),
                           0.0, 64, seed=i, json_schema=schema if i == 0 else None)
                for i in range(10)]
    done: list[int] = []
    results = backend.generate(requests, lambda i, c: done.append(i))
    [engine] = fake_vllm.instances
    assert engine.batches == [10] and sorted(done) == list(range(10))
    assert engine.options["tensor_parallel_size"] == 4 and engine.options["dtype"] == "bfloat16"
    assert results[0].tokens == 12 and "sorry" in results[0].text
    # a JSON role's schema constrains its decoding; free-text requests go unconstrained
    assert engine.params[0]["structured_outputs"] == {"json": schema}
    assert engine.options["structured_outputs_config"]["disable_any_whitespace"] is True
    assert "structured_outputs" not in engine.params[1]


def test_vllm_request_rejected_by_the_engine_fails_alone(fake_vllm: type[FakeLLM]) -> None:
    config = load_config(EXAMPLES / "vllm.yaml").backends["vllm"]
    contents = ["what is a process", "too long " * 3, "how to kill process 7"]
    requests = [GenRequest("pool", "m", ({"role": "user", "content": c},), 0.0, 64, seed=i)
                for i, c in enumerate(contents)]
    results = VLLMBackend(config).generate(requests, lambda i, c: None)
    assert results[1].text is None and "max_model_len" in results[1].error
    assert "VLLMValidationError" in results[1].error
    assert results[0].text and "sorry" in results[2].text


def test_vllm_pool_makes_one_call_per_round(fake_vllm: type[FakeLLM], tmp_path: Path) -> None:
    config = offline_config(
        tmp_path / "cfg", **{"backends.gpu": {"type": "vllm", "tensor_parallel_size": 2},
                             "pool.models": [{"backend": "gpu", "model": "org/pool-model"}],
                             "seeds.limit": 8})
    out = tmp_path / "out"
    assert generate(config, out) == 0
    [engine] = fake_vllm.instances
    pool = stats(out)["calls"]["pool"]
    assert len(engine.batches) <= 3 and sum(engine.batches) == pool["calls"]  # rounds: 3
    assert engine.options["tensor_parallel_size"] == 2


class Endpoint(Recorder):
    """A loopback pool model: refuses what sounds alarming; counts requests per server."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def __call__(self, model: str, messages: list[dict[str, Any]]) -> str:
        with self.lock:
            self.requests.append({"model": model})
        time.sleep(0.01)
        return cautious_reply(model, messages)


def test_openai_pool_shares_the_load_across_endpoints(tmp_path: Path) -> None:
    first, second = Endpoint(), Endpoint()
    with serve(first) as url_a, serve(second) as url_b:
        config = offline_config(
            tmp_path / "cfg", **{
                "backends.api": {"type": "openai", "base_urls": [url_a, url_b],
                                 "api_key_env": "LOOPBACK_KEY", "concurrency": 4},
                "pool.models": [{"backend": "api", "model": "loop-cautious"}],
                "seeds.limit": 8})
        out = tmp_path / "out"
        assert generate(config, out) == 0
    pool = stats(out)["calls"]["pool"]
    assert len(first.requests) + len(second.requests) == pool["calls"] > 0
    assert first.requests and second.requests
    assert pool["prompt_tokens"] > 0 and pool["completion_tokens"] > 0  # from the API's usage
    assert read_jsonl(out / "test.jsonl")


def test_llm_judge_detects_the_pool_refusals(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """pool.scorer: llm sends each pool answer to the paper's judge (here a loopback double)."""
    monkeypatch.setenv("JUDGE_KEY", "sk-loopback-123")
    judged: list[str] = []

    def judge(model: str, messages: list[dict[str, Any]]) -> str:
        text = messages[-1]["content"]
        judged.append(model)
        refused = "I'm sorry, but I can't help" in text
        return "Brief reason.\n[[Direct Refusal]]" if refused else "Fine.\n[[Full Compliance]]"

    with serve(judge) as url:
        config = offline_config(tmp_path / "cfg", **{
            "pool.scorer": "llm", "seeds.limit": 6,
            "pool.judge": {"model": "judge-model", "base_url": url, "api_key_env": "JUDGE_KEY"}})
        out = tmp_path / "out"
        assert generate(config, out) == 0
        first = len(judged)
        assert generate(config, out) == 0  # the judge's verdicts are cached with the run
    assert first > 0 and len(judged) == first and set(judged) == {"judge-model"}
    pool = stats(out)["pool"]
    assert pool["scorer"].startswith("llm:judge-model@")
    assert pool["kept_prompts"]["refusal_rate"] == pytest.approx(0.5)
    assert f"`{pool['scorer']}`" in (out / "README.md").read_text()
    assert "sk-loopback-123" not in "".join(p.read_text(errors="ignore")
                                            for p in out.rglob("*") if p.is_file())


def test_json_roles_ask_the_server_for_their_schema_and_reasoning_comes_back_apart(
        tmp_path: Path) -> None:
    bodies: list[dict[str, Any]] = []
    thought = "The asker wants to protect people, so a full answer is safe."

    def endpoint(model: str, messages: list[dict[str, Any]]) -> str | dict[str, str]:
        if model == "loop-reviewer":
            return json.dumps({"label": "benign", "feedback": "A protective question."})
        # a reasoning model's server: the thoughts in their own field, not in the content
        return {"content": "Here is what a careful answer covers.", "reasoning": thought}

    runs = {}
    with serve(endpoint, on_request=bodies.append) as url:
        for structured in (True, False):
            config = offline_config(tmp_path / f"cfg-{structured}", **{
                "backends.api": {"type": "openai", "base_urls": [url],
                                 "api_key_env": "LOOPBACK_KEY", "structured_outputs": structured},
                "roles.discriminator": {"backend": "api", "model": "loop-reviewer"},
                "roles.reasoning": {"backend": "api", "model": "loop-reasoner"},
                "seeds.limit": 4})
            bodies.clear()
            assert generate(config, tmp_path / f"out-{structured}") == 0
            runs[structured] = {(b["model"], json.dumps(b.get("response_format"))) for b in bodies}
            train = read_jsonl(tmp_path / f"out-{structured}" / "train.jsonl")
            assert train and all(r["cot_response"]["reasoning_content"] == thought for r in train)
    [(_, schema)] = [r for r in runs[True] if r[0] == "loop-reviewer"]
    response_format = json.loads(schema)
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "discriminator"
    assert response_format["json_schema"]["schema"] == parsing.json_schema("discriminator")
    assert ("loop-reasoner", "null") in runs[True]  # free text: no schema
    assert runs[False] == {("loop-reviewer", "null"), ("loop-reasoner", "null")}


@pytest.mark.parametrize("completion", [
    Completion("<think>weigh it</think>Answer."),
    Completion("weigh it\n</think>\n\nAnswer."),  # the chat template opened the block
    Completion("Answer.", reasoning="weigh it"),  # the server's reasoning field
])
def test_reasoning_parser_reads_each_way_models_deliver_thoughts(completion: Completion) -> None:
    assert parsing.reasoning(completion) == {"reasoning_content": "weigh it", "solution": "Answer."}


def test_reasoning_parser_names_what_the_role_needs() -> None:
    with pytest.raises(parsing.Malformed, match="needs a reasoning model"):
        parsing.reasoning(Completion("Just an answer, with no thinking shown."))


# -- configuration errors ----------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field", "message", "on_line"), [
    ({"roles.generator.temperature": "hot"}, "roles.generator.temperature",
     "expected a number", "temperature: hot"),
    ({"pool.min_refusals": 5}, "pool.min_refusals", "between 1 and", "min_refusals: 5"),
    ({"roles.graph.backend": "gpu"}, "roles.graph.backend", "no backend named 'gpu'",
     "backend: gpu"),
    ({"adversarial.round": 2}, "adversarial.round", "unknown setting", "round: 2"),
    ({"categories": [3, 99]}, "categories.1", "not a category id", "- 99"),
    ({"pool.judge": {"model": "j", "api_key": "sk-secret"}}, "pool.judge.api_key",
     "name its environment variable with 'api_key_env'", "api_key: sk-secret"),
])
def test_config_errors_name_file_line_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture, change: dict, field: str, message: str,
        on_line: str) -> None:
    config = offline_config(tmp_path, **change)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    text = str(caught.value)
    assert text.startswith(f"{config}:") and f"field '{field}'" in text and message in text
    number = int(text[len(str(config)) + 1:].split(":")[0])
    assert on_line in config.read_text().splitlines()[number - 1]  # the line that holds it
    assert main(["generate", "--config", str(config), "--output-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"falsereject: error: {text}"
    assert not (tmp_path / "o").exists()  # nothing started


# -- de-duplication and diversity ---------------------------------------------------------------

def test_dedup_catches_rewordings_with_both_similarity_paths() -> None:
    texts = ["How do detectives find out that poison was used in a murder case?",
             "How do detectives find out that poison was used in a murder case??",
             "How can detectives tell that poison was used in a murder?",
             "What should a shop owner know about keeping staff safe at night?"]
    for method in ("tfidf", diversity.similarity_method("auto")):
        found = diversity.find_duplicates(texts, method, 0.8 if method == "tfidf" else 0.85,
                                          3, 0.6)
        assert {(d.index, d.of) for d in found} >= {(1, 0)}
        assert 3 not in {d.index for d in found}
    # auto takes the embedding model when its package is installed, else falls back to TF-IDF
    expected = "embedding" if diversity.embedding_model_dir() else "tfidf"
    assert diversity.similarity_method("auto") == expected


def test_self_bleu_and_dist2_separate_repetitive_from_varied_sets() -> None:
    same = ["how do i keep my home safe from burglars"] * 4
    varied = ["how do i keep my home safe from burglars", "what are signs of a phishing email",
              "why is mixing bleach and ammonia dangerous", "who should i call about a gas leak"]
    assert diversity.self_bleu(same) == pytest.approx(1.0)
    assert diversity.self_bleu(varied) < 0.2
    assert diversity.dist_n(same) == pytest.approx(0.25) and diversity.dist_n(varied) == 1.0


# -- export for fine-tuning, and the harness round trip ------------------------------------------

def test_export_sft_from_generated_data_and_from_the_data_in_use(
        offline_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "reasoning.jsonl"
    assert main(["export-sft", "--input", str(offline_run), "--variant", "reasoning",
                 "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    train = read_jsonl(offline_run / "train.jsonl", "train")
    assert len(rows) == len(train)
    user, assistant = rows[0]["messages"]
    assert user == {"role": "user", "content": train[0]["prompt"]}
    assert assistant["content"].startswith("<think>\n")
    assert assistant["content"].endswith(train[0]["cot_response"]["solution"])

    monkeypatch.setenv("FALSEREJECT_DATA", str(offline_run))  # what --hub reads
    out = tmp_path / "instruct.jsonl"
    assert main(["export-sft", "--hub", "--variant", "instruct", "--output", str(out)]) == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert first["messages"][1]["content"] == train[0]["instruct_response"]


def test_lm_eval_evaluates_the_generated_test_split(
        offline_run: Path, loopback: Recorder, tmp_path: Path) -> None:
    result = run(lm_eval_command(loopback.base_url, "falsereject", tmp_path / "results"),
                 cwd=tmp_path, env=harness_env(FALSEREJECT_DATA=str(offline_run)))
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(newest(tmp_path / "results", "results_*.json").read_text())
    metrics = results["results"]["falsereject"]
    test_rows = read_jsonl(offline_run / "test.jsonl")
    n = next(v for k, v in metrics.items() if k.startswith("n,"))
    undetermined = next(v for k, v in metrics.items() if k.startswith("undetermined,"))
    assert n + undetermined == len(test_rows)
    asked = {r["messages"][-1]["content"] for r in loopback.requests}
    assert {r["prompt"] for r in test_rows} <= asked


def test_inspect_evaluates_the_generated_test_split(
        offline_run: Path, loopback: Recorder, tmp_path: Path) -> None:
    from inspect_ai.log import read_eval_log

    env = harness_env(FALSEREJECT_DATA=str(offline_run), LOOP_BASE_URL=loopback.base_url,
                      LOOP_API_KEY="loopback")
    result = run(inspect_command("falsereject/falsereject", "--model", "openai-api/loop/scripted",
                                 "--log-dir", str(tmp_path / "logs"), "--log-format", "eval"),
                 cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    log = read_eval_log(str(newest(tmp_path / "logs", "*.eval")))
    assert log.status == "success"  # inspect exits 0 even when the task fails
    prompts = {sample.input for sample in log.samples}
    assert prompts == {r["prompt"] for r in read_jsonl(offline_run / "test.jsonl")}


def test_push_to_hub_uploads_the_dataset_files(
        offline_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict]] = []

    class FakeApi:
        def create_repo(self, repo: str, **options: Any) -> None:
            calls.append(("create", {"repo": repo, **options}))

        def upload_folder(self, **options: Any) -> None:
            calls.append(("upload", options))

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    from falsereject.generation.output import push_to_hub

    assert push_to_hub(offline_run, "me/fr-gen").endswith("datasets/me/fr-gen")
    (_, create), (_, upload) = calls
    assert create["repo_type"] == "dataset" and upload["folder_path"] == str(offline_run)
    assert {"train.jsonl", "test.jsonl", "README.md"} <= set(upload["allow_patterns"])
