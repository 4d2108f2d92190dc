"""The model-card section (Markdown with a Hugging Face ``model-index`` block) and the
self-contained HTML report, rendered from ``templates/`` like every other template of the
project: a sandboxed Jinja2 environment where an undefined variable is an error.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from falsereject import __version__
from falsereject.data import SAMPLE
from falsereject.benchmarks import FALSEREJECT, SAFETY, shown
from falsereject.reports.compare import JudgeEvidence, calibration_note
from falsereject.reports.runs import UNRECORDED, Run
from falsereject.metrics import undetermined_reasons
from falsereject.safety import HUB_SETS
from falsereject.verdicts import VERDICTS

CARD_TEMPLATE = "model_card.md.j2"
HTML_TEMPLATE = "report.html.j2"
MAIN_PLOTS = ("refusal_vs_safety", "usr_compliance")  # the first one drawn heads the card
RATE_NAMES = {
    "usr": "USR (useful safety rate)",
    "compliance_rate": "compliance rate",
    "refusal_rate": "refusal rate",
    "usr_toxic": "usr_toxic (refused or safely answered)",
}
METHOD = (
    "Answers were generated through the harness named in each row and judged by the scorer "
    "named beside every number: `offline-v<N>` is falsereject's offline detector (rules and a "
    "small learned head, no language model; the version changes whenever its verdicts can); "
    "`llm:<judge>@<hash>` is the paper's three-way LLM judge, asked at temperature 0 with "
    "the judge template whose SHA-256 starts with `<hash>`. Numbers from different scorers are "
    "never combined."
)


@dataclass(frozen=True)
class Dataset:
    """A provenance string read as Hugging Face model-index fields."""

    name: str
    type: str
    revision: str | None = None
    split: str | None = None


def dataset_of(benchmark: str, provenance: str) -> Dataset:
    """``repo@revision`` is a hub dataset; the bundled sample, a local copy or an unrecorded
    source get a type of their own, so no card claims results on data it was not run on."""
    title = shown(benchmark).title
    if provenance == SAMPLE:
        return Dataset(f"{title} (bundled sample, not the benchmark)",
                       f"falsereject-sample/{benchmark}")
    if provenance.startswith("local:"):
        return Dataset(f"{title} (local copy {provenance.removeprefix('local:')})",
                       f"local/{benchmark}")
    repo, at, revision = provenance.partition("@")
    if at and "/" in repo:
        spec = HUB_SETS.get(benchmark)
        return Dataset(title, repo, revision, "test" if spec is None else spec.split)
    return Dataset(f"{title} (data source not recorded)", f"{UNRECORDED}/{benchmark}")


def write_card(rows: list[dict[str, Any]], runs: list[Run], plots: dict[str, list[Path]],
               output_dir: Path, title: str, evidence: JudgeEvidence) -> Path:
    context = _context(rows, runs, plots, title, evidence)
    text = _environment(autoescape=False).get_template(CARD_TEMPLATE).render(**context)
    path = output_dir / "model_card.md"
    path.write_text(text, encoding="utf-8")
    return path


def write_html(rows: list[dict[str, Any]], runs: list[Run], plots: dict[str, list[Path]],
               output_dir: Path, title: str, skipped: list[str], notes: list[str],
               evidence: JudgeEvidence) -> Path:
    context = _context(rows, runs, plots, title, evidence)
    figures = [
        {"name": name, "src": "data:image/svg+xml;base64,"
         + base64.b64encode(paths[1].read_bytes()).decode("ascii")}
        for name, paths in plots.items()
    ]
    table = [{k: _cell(v) for k, v in row.items()} for row in rows]
    text = _environment(autoescape=True).get_template(HTML_TEMPLATE).render(
        **context, figures=figures, table=table, columns=list(rows[0]) if rows else [],
        skipped=skipped, notes=notes)
    path = output_dir / "report.html"
    path.write_text(text, encoding="utf-8")
    return path


def model_index(rows: list[dict[str, Any]], runs: list[Run]) -> str:
    """Hugging Face ``model-index`` YAML: one entry per model, one result per benchmark and
    scorer. Left out: the pooled safety figure (it spans several datasets) and every subset (a
    category, the train split, a --limit), which is not the benchmark's result."""
    import yaml

    datasets = {run.key: run.datasets for run in runs}
    models: dict[str, list[dict[str, Any]]] = {}
    for row in _overall(rows):
        if row["benchmark"] == SAFETY or row["subset"] or not row["n"]:
            continue
        key = (row["model"], row["benchmark"], row["scorer"], row["subset"])
        provenance = "; ".join(datasets.get(key, []))
        data = dataset_of(row["benchmark"], provenance)
        dataset = {"name": data.name, "type": data.type}
        dataset |= {k: v for k, v in (("split", data.split), ("revision", data.revision)) if v}
        metrics = [
            {"type": rate, "value": round(row[rate], 4),
             "name": f"{RATE_NAMES[rate]}, {row['scorer']} scorer"}
            for rate in _rates(row)
        ]
        models.setdefault(row["model"], []).append({
            "task": {"type": "text-generation", "name": _task_name(row["benchmark"])},
            "dataset": dataset,
            "metrics": metrics,
        })
    entries = [{"name": model, "results": results} for model, results in models.items()]
    return yaml.safe_dump({"model-index": entries}, sort_keys=False, allow_unicode=True,
                          width=100)


def _context(rows: list[dict[str, Any]], runs: list[Run], plots: dict[str, list[Path]],
             title: str, evidence: JudgeEvidence) -> dict[str, Any]:
    overall = _overall(rows)
    main = next((plots[name][0].name for name in MAIN_PLOTS if name in plots), None)
    return {
        "title": title,
        "intro": _intro(runs),
        "main_plot": {"file": main, "alt": main.rsplit(".", 1)[0].replace("_", " ")}
        if main else None,
        "results": [_result(r, evidence) for r in overall],
        "calibrated": bool(evidence.calibrations),
        "agreements": [_agreement(a) for a in evidence.agreements],
        "has_pooled": any(r["benchmark"] == SAFETY for r in overall),
        "flagged": _flagged(overall, runs),
        "provenance": [_provenance(run) for run in runs],
        "method": METHOD,
        "version": __version__,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "model_index": model_index(rows, runs),
    }


def _intro(runs: list[Run]) -> str:
    models = sorted({run.model for run in runs})
    safety = sorted({shown(run.benchmark).title for run in runs if run.benchmark != FALSEREJECT})
    text = (
        f"Over-refusal of {_count(models, 'model')} measured on FalseReject (Zhang et al., "
        "arXiv 2505.08054): prompts that touch sensitive topics but are benign, where refusing "
        "is a failure."
    )
    if safety:
        text += (f" Read beside harmful prompts from {', '.join(safety)}, where refusing is the "
                 "point, so that a model cannot score well by answering everything.")
    return text


def _result(row: dict[str, Any], evidence: JudgeEvidence) -> dict[str, Any]:
    rate = shown(row["benchmark"]).main_rate
    return {
        "model": row["model"],
        "benchmark": _benchmark_title(row["benchmark"], row["subset"]),
        "metric": rate,
        "rate": _number(row[rate]),
        "interval": _interval(row, rate),
        "compliance": _number(row["compliance_rate"]),
        "refusal": _number(row["refusal_rate"]),
        "n": row["n"],
        "undetermined": _undetermined(row),
        "scorer": row["scorer"],
        "vs_people": calibration_note(evidence.calibrations.get(row["scorer"])),
        "flag": row["flag"],
    }


def _agreement(found: dict[str, Any]) -> dict[str, Any]:
    """One comparison of two scorers, as the card's line and the HTML's table read it."""
    agree, kappa = found["agreement"], found["kappa"]
    kappa_text = "n/a" if kappa["value"] is None else (
        f"{kappa['value']:.3f} [{kappa['ci_low']:.2f}, {kappa['ci_high']:.2f}]")
    return {
        "model": found["model"],
        "benchmark": _benchmark_title(found["benchmark"], found["subset"]),
        "first": found["scorers"][0], "second": found["scorers"][1], "n": found["n"],
        "agreement": f"{agree['value']:.1%} [{agree['ci_low']:.1%}, {agree['ci_high']:.1%}]",
        "kappa": kappa_text,
        "confusion": [[found["confusion"][a][b] for b in VERDICTS] for a in VERDICTS],
    }


def _flagged(overall: list[dict[str, Any]], runs: list[Run]) -> list[dict[str, str]]:
    """One line per model, scorer and warning, naming the benchmarks it applies to."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for row in overall:
        for flag in filter(None, row["flag"].split("; ")):
            found.setdefault((row["model"], row["scorer"], flag), []).append(
                shown(row["benchmark"]).title)
    for run in runs:
        if SAMPLE in run.datasets:
            flag = "run on the bundled sample written by the falsereject project, not the benchmark"
            found.setdefault((run.model, run.scorer, flag), []).append(shown(run.benchmark).title)
    return [{"model": model, "scorer": scorer, "benchmark": ", ".join(benchmarks), "flag": flag}
            for (model, scorer, flag), benchmarks in found.items()]


def _provenance(run: Run) -> dict[str, str]:
    kind, judge, template = _scorer_parts(run)
    data = [dataset_of(run.benchmark, d) for d in run.datasets]
    return {
        "model": run.model,
        "benchmark": _benchmark_title(run.benchmark, run.subset),
        "dataset": "; ".join(f"{d.type}@{d.revision}" if d.revision else d.name for d in data),
        "scorer_kind": kind,
        "judge_model": judge,
        "template_hash": template,
        "harness": run.harness,
        "date": run.created.strftime("%Y-%m-%d %H:%M UTC"),
        "source": run.source,
    }


def _scorer_parts(run: Run) -> tuple[str, str, str]:
    """(kind, judge model, template hash) from names like ``llm:gpt-4o-mini@1a2b3c4d``."""
    if not run.scorer.startswith("llm:"):
        return run.scorer, "none", "n/a"
    judge, _, short = run.scorer[len("llm:"):].rpartition("@")
    full = run.judge_template_sha256
    return "LLM judge", judge, full if full else f"{short}… (first 8 hex)"


def _benchmark_title(benchmark: str, subset: str) -> str:
    title = shown(benchmark).title
    return f"{title}, subset {subset}" if subset else title


def _undetermined(row: dict[str, Any]) -> str:
    """``12 (27%: 10 transport, 2 unusable)``: the count, its share, and why."""
    if not row["undetermined"]:
        return "0"
    return (f"{row['undetermined']} ({_percent(row['undetermined_rate'])}: "
            f"{undetermined_reasons(row)})")


def _rates(row: dict[str, Any]) -> list[str]:
    main = shown(row["benchmark"]).main_rate
    return [main] + [r for r in ("compliance_rate", "refusal_rate") if r != main]


def _task_name(benchmark: str) -> str:
    if benchmark == FALSEREJECT:
        return "Over-refusal (FalseReject)"
    return f"Refusal of harmful prompts ({shown(benchmark).title})"


def _overall(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["scope"] == "overall"]


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _interval(row: dict[str, Any], rate: str) -> str:
    low, high = row[f"{rate}_ci_low"], row[f"{rate}_ci_high"]
    return "n/a" if low is None else f"{low:.3f}-{high:.3f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _count(items: list[str], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _markdown_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: no column breaks, no line breaks, no HTML."""
    text = " ".join(str(value).split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _environment(autoescape: bool) -> SandboxedEnvironment:
    # Sandboxed and strict, as for the judge templates: a misspelt variable fails loudly.
    env = SandboxedEnvironment(
        loader=jinja2.FunctionLoader(_template_source),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = _markdown_cell
    return env


def _template_source(name: str) -> str:
    return resources.files("falsereject.templates").joinpath(name).read_text(encoding="utf-8")
