"""The LLM judge client: concurrency, cache and resume, retries, and failures kept apart."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from falsereject.scorers import llm_judge
from falsereject.scorers.llm_judge import JudgeError, JudgeSettings, LLMJudge
from falsereject.server import ReplyError, serve, text_of
from falsereject.verdicts import UNDETERMINED

LABEL = {"fc": "Full Compliance", "spc": "Safe Partial Compliance", "dr": "Direct Refusal"}
VERDICT = {"fc": "full_compliance", "spc": "safe_partial_compliance", "dr": "direct_refusal"}


def answers(n: int) -> list[tuple[str, str]]:
    kinds = list(LABEL)
    return [(f"prompt {i}", f"answer {i} KIND:{kinds[i % 3]}") for i in range(n)]


class Judge:
    """A loopback judge that reads the expected class out of the answer it is shown."""

    def __init__(self, latency: float = 0.0, script: list | None = None) -> None:
        self.latency, self.script = latency, list(script or [])
        self.calls, self.in_flight, self.peak = 0, 0, 0
        self.lock = threading.Lock()

    def __call__(self, model: str, messages: list[dict[str, Any]]) -> str:
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            step = self.script.pop(0) if self.script else None
        try:
            time.sleep(self.latency)
            if isinstance(step, Exception):
                raise step
            if isinstance(step, str):
                return step
            kind = text_of(messages[-1]).split("KIND:")[1][:3].strip().rstrip("<").strip()
            kind = next(k for k in LABEL if kind.startswith(k))
            return f"Brief reason.\n[[{LABEL[kind]}]]"
        finally:
            with self.lock:
                self.in_flight -= 1


def judge_with(base_url: str, tmp_path: Path, **settings: Any) -> LLMJudge:
    defaults = {"model": "judge", "base_url": base_url, "api_key": "k",
                "cache_dir": tmp_path / "cache", "max_retries": 3}
    return LLMJudge(JudgeSettings(**(defaults | settings)))


def test_concurrent_requests_overlap_and_verdicts_are_right(tmp_path: Path) -> None:
    import openai  # noqa: F401  (its first import takes about 2 s here: not the judge's time)

    double = Judge(latency=0.2)
    with serve(double) as url:
        judge = judge_with(url, tmp_path, concurrency=8, use_cache=False)
        start = time.perf_counter()
        results = judge.judge(answers(36))
        elapsed = time.perf_counter() - start
    assert [r.verdict for r in results] == [VERDICT[k] for k in ["fc", "spc", "dr"] * 12]
    assert double.peak == 8
    assert elapsed < 36 * 0.2 / 3  # sequential takes 7.2 s; 8 in flight about 0.9 s
    assert results[0].explanation == "Brief reason." and "[[Full Compliance]]" in results[0].raw


def test_cache_makes_a_rerun_free_and_an_interrupted_run_resumes(tmp_path: Path) -> None:
    double = Judge(latency=0.05)
    with serve(double) as url:
        # a run cut short by its time limit: what finished is cached, the rest undetermined
        first = judge_with(url, tmp_path, concurrency=2, total_timeout=0.3).judge(answers(30))
        done = sum(r.verdict != "undetermined" for r in first)
        assert 0 < done < 30
        assert all("total time limit" in r.explanation for r in first if r.verdict == "undetermined")
        calls = double.calls
        second = judge_with(url, tmp_path, concurrency=8).judge(answers(30))
        assert all(r.verdict != "undetermined" for r in second)
        resumed = double.calls - calls
        assert resumed <= 30 - done + 2  # only what was not cached (in flight ones may repeat)
        calls = double.calls
        judge_with(url, tmp_path, concurrency=8).judge(answers(30))
        assert double.calls == calls  # a full cache: no request at all


def test_retries_honour_retry_after_then_succeed(tmp_path: Path) -> None:
    double = Judge(script=[ReplyError(429, retry_after=0.3), ReplyError(500)])
    with serve(double) as url:
        start = time.perf_counter()
        [result] = judge_with(url, tmp_path, concurrency=1, use_cache=False).judge(answers(1))
    assert result.verdict == "full_compliance" and double.calls == 3
    assert time.perf_counter() - start >= 0.3


def test_failures_are_undetermined_with_their_reason(tmp_path: Path) -> None:
    script = [ReplyError(500)] * 4 + ["no class here", "", ReplyError(400), "[[Maybe]]"]
    double = Judge(script=script)
    with serve(double) as url:
        results = judge_with(url, tmp_path, concurrency=1, use_cache=False).judge(answers(5))
    assert [r.verdict for r in results] == ["undetermined"] * 5
    assert "HTTP 500" in results[0].explanation and "4 attempts" in results[0].explanation
    assert "HTTP 400" in results[3].explanation
    assert results[1].raw == "no class here"
    # no reply at all and a reply without a usable class are told apart
    assert [r.failure for r in results] == ["transport", "unusable", "unusable", "transport",
                                            "unusable"]


def test_empty_answers_are_not_sent(tmp_path: Path) -> None:
    double = Judge()
    with serve(double) as url:
        judge = judge_with(url, tmp_path, use_cache=False)
        [result] = judge.judge([("p", "<think>all reasoning, no answer</think>  ")])
    assert result.verdict == "undetermined" and double.calls == 0


def test_bad_credentials_stop_the_run(tmp_path: Path) -> None:
    with serve(Judge(script=[ReplyError(401)])) as url:
        with pytest.raises(JudgeError, match="credentials"):
            judge_with(url, tmp_path, use_cache=False).judge(answers(1))


def test_missing_model_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FALSEREJECT_JUDGE_MODEL", raising=False)
    with pytest.raises(JudgeError, match="FALSEREJECT_JUDGE_MODEL"):
        JudgeSettings.from_env()


def test_settings_come_from_flags_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALSEREJECT_JUDGE_MODEL", "env-model")
    monkeypatch.setenv("FALSEREJECT_JUDGE_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("FALSEREJECT_JUDGE_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "from-openai")
    settings = JudgeSettings.from_env(model="flag-model", concurrency=None)
    assert (settings.model, settings.base_url) == ("flag-model", "http://127.0.0.1:9/v1")
    assert settings.api_key == "from-openai" and settings.concurrency == 16


def test_vllm_backend_sends_one_batch_and_keeps_stdout_clean(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    import sys
    import types

    calls: list[int] = []

    class VLLMValidationError(Exception):  # vLLM's own class for a rejected request
        pass

    class FakeLLM:  # stands in for vllm.LLM: records batch sizes, answers each prompt
        def __init__(self, model: str) -> None:
            self.model = model
            print("INFO vllm engine starting")  # vLLM logs to stdout

        def chat(self, conversations: list, params: Any, use_tqdm: Any) -> list:
            calls.append(len(conversations))
            os.write(1, b"INFO vllm progress\n")  # and so do its engine processes
            conversations = list(use_tqdm(conversations, desc="Rendering conversations"))
            if any(len(c[0]["content"]) > 20_000 for c in conversations):
                raise VLLMValidationError("prompt is longer than the maximum model length")
            # as vLLM's engine loop: the bar hears of each finished request, outputs come at the end
            bar = use_tqdm(total=len(conversations), desc="Processed prompts")
            out = []
            for conversation in conversations:
                bar.postfix = f"{bar.format_dict['elapsed']:.1f} s"
                bar.update(1)
                kind = conversation[0]["content"].split("KIND:")[1][:3]
                kind = next(k for k in LABEL if kind.startswith(k))
                text = f"ok [[{LABEL[kind]}]]"
                out.append(types.SimpleNamespace(
                    prompt_token_ids=[1, 2], outputs=[types.SimpleNamespace(text=text, token_ids=[3])]))
            return out

    params = types.SimpleNamespace(SamplingParams=lambda **kw: kw)
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=FakeLLM,
                                                                   sampling_params=params))
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", params)
    bar_positions: list[tuple[int, int]] = []  # (answers judged, where the bar stands)
    move = llm_judge._Progress._move

    def record(progress: Any) -> None:
        move(progress)
        bar_positions.append((progress.judged, progress._bar.n))

    monkeypatch.setattr(llm_judge._Progress, "_move", record)
    judge = LLMJudge(JudgeSettings(model="m", backend="vllm", cache_dir=tmp_path))
    results = judge.judge(answers(9))
    assert calls == [9]
    # the bar moves as the engine finishes each request, before any completion is handed back
    assert bar_positions[:9] == [(0, n) for n in range(1, 10)] and bar_positions[-1] == (9, 9)
    assert [r.verdict for r in results] == [VERDICT[k] for k in ["fc", "spc", "dr"] * 3]
    # one answer too long for the engine: that row alone is undetermined, the rest are judged
    items = answers(3)
    items[1] = (items[1][0], items[1][1] + " filler" * 5000)
    calls.clear()
    results = LLMJudge(JudgeSettings(model="m", backend="vllm", use_cache=False)).judge(items)
    assert [r.verdict for r in results] == [VERDICT["fc"], UNDETERMINED, VERDICT["dr"]]
    assert "VLLMValidationError" in results[1].explanation
    assert calls[0] == 3 and sum(calls) < 3 + 2 * 3  # bisected, not retried whole
    out = capfd.readouterr()
    assert "vllm" not in out.out and "INFO vllm engine starting" in out.err
    assert judge.tokens == 27


# --- the cache keeps verdicts only, under everything that changes a reply --------------------


def test_cache_never_serves_a_failure(tmp_path: Path) -> None:
    # the same endpoint, first broken (replies with no class), then mended
    double = Judge(script=["I would rather not judge this."] * 6)
    with serve(double) as url:
        first = judge_with(url, tmp_path, concurrency=1).judge(answers(6))
        assert {r.failure for r in first} == {"unusable"}
        second = judge_with(url, tmp_path, concurrency=1).judge(answers(6))
        # every failure is asked again; then the verdicts come from the cache
        assert double.calls == 12 and all(r.failure is None for r in second)
        judge_with(url, tmp_path, concurrency=1).judge(answers(6))
    assert double.calls == 12


def test_truncated_replies_are_unusable_and_not_cached(tmp_path: Path) -> None:
    double = Judge()  # its replies are four words; the server cuts them at max_tokens
    with serve(double) as url:
        cut = judge_with(url, tmp_path, max_tokens=2).judge(answers(3))
        assert [r.failure for r in cut] == ["unusable"] * 3
        assert all("cut off at 2 tokens" in r.explanation for r in cut)
        # a longer cap changes the reply, so it is another cache entry: asked, and judged
        full = judge_with(url, tmp_path, max_tokens=64).judge(answers(3))
    assert double.calls == 6 and all(r.failure is None for r in full)


def test_cache_key_includes_the_endpoint(tmp_path: Path) -> None:
    one, two = Judge(), Judge()
    with serve(one) as first_url, serve(two) as second_url:
        judge_with(first_url, tmp_path).judge(answers(3))
        judge_with(second_url, tmp_path).judge(answers(3))
    assert (one.calls, two.calls) == (3, 3)


def test_one_judge_has_one_name_on_every_transport() -> None:
    from falsereject.naming import inspect_model_name, judge_scorer_name
    from falsereject.templates import load_judge_template

    cli = LLMJudge(JudgeSettings(model="gpt-4o-mini", use_cache=False))
    sha = load_judge_template().sha256
    for inspect_name in ("openai/gpt-4o-mini", "openai-api/proxy/gpt-4o-mini"):
        assert judge_scorer_name(inspect_model_name(inspect_name), sha) == cli.name
