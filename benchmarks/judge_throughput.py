"""Throughput, caching and fault handling of the LLM judge against a loopback endpoint.

Usage: python benchmarks/judge_throughput.py [--n 1187] [--latency 0.2] [--concurrency 32]
                                             [--json OUT]

A loopback OpenAI-compatible server answers every judge request after ``--latency`` seconds
with a fixed verdict per answer. Four runs, in one process:

1. sequential: concurrency 1, no cache (the baseline);
2. concurrent: ``--concurrency`` requests in flight, filling a fresh cache;
3. cached: the same run again, which must make zero requests;
4. faults: 20 % of requests answered 429 (with Retry-After) or 500, 5 % of replies
   unparseable; every row must end correctly judged or undetermined, none lost;
5. mended: the faulty endpoint fixed, the same cache: only the failed rows are asked again
   (the cache holds verdicts only), and every row ends correct.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from falsereject.scorers.llm_judge import JudgeSettings, LLMJudge
from falsereject.server import ReplyError, serve, text_of

LABELS = {
    "full_compliance": "Full Compliance",
    "safe_partial_compliance": "Safe Partial Compliance",
    "direct_refusal": "Direct Refusal",
}
KINDS = tuple(LABELS)
MARK = re.compile(r"ANSWER-KIND=(\w+)")


def items(n: int) -> list[tuple[str, str]]:
    """Answers whose expected verdict is written into them, for the server to find."""
    return [(f"Prompt {i}?", f"Answer {i}. ANSWER-KIND={KINDS[i % 3]}") for i in range(n)]


class Endpoint:
    """The judge double: fixed latency, optional faults, counts what it was asked."""

    def __init__(self, latency: float, fault_rate: float = 0.0, garble_rate: float = 0.0) -> None:
        self.latency, self.fault_rate, self.garble_rate = latency, fault_rate, garble_rate
        self.requests = 0
        self._lock = threading.Lock()
        self._random = random.Random(1187)

    def __call__(self, model: str, messages: list[dict[str, Any]]) -> str:
        with self._lock:
            self.requests += 1
            roll = self._random.random()
        time.sleep(self.latency)
        if roll < self.fault_rate / 2:
            raise ReplyError(429, retry_after=self.latency)
        if roll < self.fault_rate:
            raise ReplyError(500)
        if roll < self.fault_rate + self.garble_rate:
            return "I would rather not say."
        kind = MARK.search(text_of(messages[-1])).group(1)
        return f"The answer is what it is. [[{LABELS[kind]}]]"


def run(endpoint: Endpoint, base_url: str, n: int, concurrency: int, cache: Path | None
        ) -> dict[str, Any]:
    settings = JudgeSettings(model="bench-judge", base_url=base_url, api_key="loopback",
                             concurrency=concurrency, cache_dir=cache,
                             use_cache=cache is not None)
    judge = LLMJudge(settings)
    before = endpoint.requests
    start = time.perf_counter()
    judgements = judge.judge(items(n))
    seconds = time.perf_counter() - start
    expected = [KINDS[i % 3] for i in range(n)]
    return {
        "seconds": seconds,
        "requests": endpoint.requests - before,
        "rows": len(judgements),
        "correct": sum(j.verdict == e for j, e in zip(judgements, expected)),
        "undetermined": sum(j.verdict == "undetermined" for j in judgements),
        "wrong": sum(j.verdict not in (e, "undetermined") for j, e in zip(judgements, expected)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1187)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    healthy, faulty = Endpoint(args.latency), Endpoint(args.latency, 0.20, 0.05)
    with tempfile.TemporaryDirectory() as tmp, serve(healthy) as url, serve(faulty) as bad_url:
        cache, bad_cache = Path(tmp) / "cache", Path(tmp) / "faults-cache"
        runs = {
            "sequential": run(healthy, url, args.n, 1, None),
            "concurrent": run(healthy, url, args.n, args.concurrency, cache),
            "cached": run(healthy, url, args.n, args.concurrency, cache),  # same endpoint
            "faults": run(faulty, bad_url, args.n, args.concurrency, bad_cache),
        }
        # the faulty endpoint mended: only the failures are asked again (none was cached)
        failed = runs["faults"]["undetermined"]
        faulty.fault_rate = faulty.garble_rate = 0.0
        runs["mended"] = run(faulty, bad_url, args.n, args.concurrency, bad_cache)
    speedup = runs["sequential"]["seconds"] / runs["concurrent"]["seconds"]
    print(f"{args.n} answers, {args.latency * 1000:.0f} ms per request, loopback endpoint")
    print(f"{'run':<12}{'seconds':>9}{'requests':>10}{'rows':>6}{'correct':>9}"
          f"{'undetermined':>14}{'wrong':>7}")
    for name, r in runs.items():
        print(f"{name:<12}{r['seconds']:>9.2f}{r['requests']:>10}{r['rows']:>6}{r['correct']:>9}"
              f"{r['undetermined']:>14}{r['wrong']:>7}")
    print(f"concurrency {args.concurrency}: {speedup:.1f}x faster than sequential "
          f"(wall time {1 / speedup:.3f} of sequential; target at most 0.050)")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "runs": runs, "speedup": speedup}, indent=2))
    print(f"mended: {runs['mended']['requests']} requests for the {failed} answers that failed")
    ok = (speedup >= 20 and runs["cached"]["requests"] == 0
          and runs["faults"]["rows"] == args.n and runs["faults"]["wrong"] == 0
          and runs["mended"]["requests"] == failed and runs["mended"]["correct"] == args.n)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
