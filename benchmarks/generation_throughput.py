"""How the generation pipeline sends a stage's requests: batched calls on vLLM, requests in
flight on an OpenAI-compatible endpoint.

Usage: python benchmarks/generation_throughput.py [--items 1000] [--http-items 320]
                                                  [--latency 0.2] [--json OUT]

Both parts go through the pipeline's own stage path (``generation.caller.Caller``: journal
lookups, fsynced journal writes, budgets, token accounting) with the real backends:

1. vLLM: ``VLLMBackend`` with a *fake* ``vllm`` module (no GPU here) whose ``LLM.chat`` counts
   its calls and answers at once. A stage over M items must make ceil(M / batch_size) calls,
   one per stage round when ``batch_size`` is unset. Its wall time is the pipeline's own
   overhead per item (journalling included), since the fake engine costs nothing.
2. HTTP: ``OpenAIBackend`` against the project's loopback server (``falsereject.server.serve``)
   answering each request after ``--latency`` seconds. With C requests in flight the wall time
   should be near M x latency / C; the server records the peak number in flight.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
import types
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars would swamp the figures

from falsereject.generation.backends import GenRequest, OpenAIBackend, VLLMBackend  # noqa: E402
from falsereject.generation.caller import Caller, Job  # noqa: E402
from falsereject.generation.config import BackendConfig  # noqa: E402
from falsereject.server import serve  # noqa: E402


def requests(m: int, tag: str) -> list[Job]:
    return [Job(f"item-{i}", "bench", GenRequest(
        "pool", "bench-model", ({"role": "user", "content": f"{tag} question {i}?"},),
        0.0, 32, seed=i)) for i in range(m)]


class CountingLLM:
    """The fake vllm.LLM: counts chat calls and prompts; answers instantly."""

    calls = 0
    prompts = 0

    def __init__(self, model: str, **options: Any) -> None:
        self.options = options

    def chat(self, conversations: list, params: list, use_tqdm: bool = False) -> list:
        CountingLLM.calls += 1
        CountingLLM.prompts += len(conversations)
        return [types.SimpleNamespace(prompt_token_ids=[0] * 8, outputs=[
            types.SimpleNamespace(text="I can help with that.", token_ids=[0] * 6)])
            for _ in conversations]


def vllm_stage(m: int, batch_size: int | None) -> dict[str, Any]:
    params = types.SimpleNamespace(SamplingParams=lambda **kw: kw)
    sys.modules["vllm"] = types.SimpleNamespace(LLM=CountingLLM, sampling_params=params)
    sys.modules["vllm.sampling_params"] = params
    CountingLLM.calls = CountingLLM.prompts = 0
    backend = VLLMBackend(BackendConfig(type="vllm", batch_size=batch_size,
                                        tensor_parallel_size=8))
    with tempfile.TemporaryDirectory() as tmp:
        caller = Caller({"bench": backend}, Path(tmp), None, None, 0)
        start = time.perf_counter()
        results = caller.call("pool", requests(m, f"vllm-{batch_size}"))
        seconds = time.perf_counter() - start
        caller.close()
    return {"items": m, "batch_size": batch_size or "all", "engine_calls": CountingLLM.calls,
            "expected_calls": math.ceil(m / (batch_size or m)), "answered": sum(
                r.text is not None for r in results), "seconds": seconds,
            "ms_per_item": 1000 * seconds / m}


class SlowEndpoint:
    """Answers after a fixed latency; records the peak number of requests in flight."""

    def __init__(self, latency: float) -> None:
        self.latency, self.in_flight, self.peak, self.requests = latency, 0, 0, 0
        self.lock = threading.Lock()

    def __call__(self, model: str, messages: list[dict[str, Any]]) -> str:
        with self.lock:
            self.in_flight += 1
            self.requests += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(self.latency)
        with self.lock:
            self.in_flight -= 1
        return "Here is a short answer."


def http_stage(m: int, latency: float, concurrency: int, endpoints: int) -> dict[str, Any]:
    servers = [SlowEndpoint(latency) for _ in range(endpoints)]
    contexts = [serve(s) for s in servers]
    urls = [c.__enter__() for c in contexts]
    try:
        backend = OpenAIBackend(BackendConfig(type="openai", base_urls=urls,
                                              api_key_env="BENCH_KEY", concurrency=concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            caller = Caller({"bench": backend}, Path(tmp), None, None, 0)
            start = time.perf_counter()
            results = caller.call("pool", requests(m, f"http-{concurrency}-{endpoints}"))
            seconds = time.perf_counter() - start
            tokens = caller.total_tokens
            caller.close()
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    in_flight = concurrency * endpoints
    ideal = m * latency / in_flight
    return {"items": m, "endpoints": endpoints, "concurrency": in_flight,
            "answered": sum(r.text is not None for r in results), "seconds": seconds,
            "ideal_seconds": ideal, "ratio_to_ideal": seconds / ideal,
            "peak_in_flight": sum(s.peak for s in servers),
            "requests_per_endpoint": [s.requests for s in servers], "tokens": tokens}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="M for the vLLM stage")
    parser.add_argument("--http-items", type=int, default=320, help="M for the HTTP stage")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per HTTP request")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    vllm = [vllm_stage(args.items, b) for b in (None, 256, 64, 16)]
    http = [http_stage(args.http_items, args.latency, c, e)
            for c, e in ((1, 1), (8, 1), (32, 1), (16, 2))]

    print(f"vLLM backend (fake vllm module counting LLM.chat calls), one stage over "
          f"{args.items} items, through the journalled stage path")
    print(f"{'batch_size':>10}{'engine calls':>14}{'expected':>10}{'answered':>10}"
          f"{'seconds':>9}{'ms/item':>9}")
    for r in vllm:
        print(f"{r['batch_size']:>10}{r['engine_calls']:>14}{r['expected_calls']:>10}"
              f"{r['answered']:>10}{r['seconds']:>9.2f}{r['ms_per_item']:>9.2f}")
    print(f"\nOpenAI-compatible backend, loopback server answering after "
          f"{args.latency * 1000:.0f} ms, one stage over {args.http_items} items")
    print(f"{'endpoints':>9}{'in flight C':>12}{'seconds':>9}{'M*lat/C':>9}{'ratio':>7}"
          f"{'peak':>6}{'answered':>10}  per endpoint")
    for r in http:
        print(f"{r['endpoints']:>9}{r['concurrency']:>12}{r['seconds']:>9.2f}"
              f"{r['ideal_seconds']:>9.2f}{r['ratio_to_ideal']:>7.2f}{r['peak_in_flight']:>6}"
              f"{r['answered']:>10}  {r['requests_per_endpoint']}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "vllm": vllm, "http": http}, indent=2))
    ok = (all(r["engine_calls"] == r["expected_calls"] and r["answered"] == r["items"]
              for r in vllm)
          and all(r["answered"] == r["items"] and r["peak_in_flight"] == r["concurrency"]
                  and r["ratio_to_ideal"] < 2.0 for r in http))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
