"""The tidy table: one row per (model, benchmark, scorer, scope, group), every rate with its n,
undetermined count and Wilson interval (``falsereject.metrics.summarize``), and the provenance
of the number beside it.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from falsereject.benchmarks import SAFETY, SAFETY_SETS, display_order, shown
from falsereject.metrics import breakdown, summarize, undetermined_flag
from falsereject.reports.runs import Messages, Run, Verdict
from falsereject.taxonomy import DOMAINS, OTHER
from falsereject.verdicts import FAILURES, RATES, VERDICTS

RATE_COLUMNS = [f"{r}{s}" for r in RATES for s in ("", "_ci_low", "_ci_high")]
COLUMNS = [
    "model", "benchmark", "subset", "scorer", "scope", "category_name", "category_id", "domain",
    "n", "undetermined", "undetermined_rate", *(f"undetermined_{f}" for f in FAILURES),
    *VERDICTS, *RATE_COLUMNS,
    "judge_template_sha256", "harness", "dataset", "created", "source", "flag",
]
_DOMAIN_ORDER = {d: i for i, d in enumerate((*DOMAINS, OTHER))}


def keep_newest(runs: list[Run], messages: Messages) -> list[Run]:
    """One run per (model, benchmark, scorer, subset): the newest, saying which others were
    dropped. A subset never stands in for the whole benchmark, nor the whole for a subset."""
    groups: dict[tuple[str, str, str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.key].append(run)
    kept = []
    for (model, benchmark, scorer, subset), group in groups.items():
        group.sort(key=lambda r: r.created, reverse=True)
        kept.append(group[0])
        for older in group[1:]:
            messages.note(
                f"{model} / {benchmark}{f' ({subset})' if subset else ''} / {scorer}: "
                f"{len(group)} runs; kept the newest, "
                f"{group[0].source} ({group[0].created:%Y-%m-%d %H:%M:%S}), dropped {older.source} "
                f"({older.created:%Y-%m-%d %H:%M:%S})"
            )
    return sorted(kept, key=_order)


def _order(run: Run) -> tuple[Any, ...]:
    return (run.model, display_order(run.benchmark), run.subset, run.scorer)


def table_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Rows for each run (overall, per domain, per category), then each model's pooled safety."""
    rows = [row for run in runs for row in _run_rows(run)]
    rows += _pooled_rows(runs)
    # stable: a run's own rows keep their order (overall, domains, categories)
    return sorted(rows, key=lambda r: (r["model"], display_order(r["benchmark"]), r["subset"],
                                       r["scorer"]))


def _pooled_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Each model's pooled safety row, flagged when it covers fewer sets than others do: the
    plot puts every model on one safety axis, which is fair only over the same sets."""
    every = {run.benchmark for run in runs if run.benchmark in SAFETY_SETS}
    rows = []
    for pooled, sets in pool_safety(runs):
        row = _row(pooled, "overall")
        if sets != every:
            only = f"pooled over {', '.join(sorted(sets))} only"
            row["flag"] = "; ".join(f for f in (row["flag"], only) if f)
        rows.append(row)
    return rows


def pool_safety(runs: list[Run]) -> list[tuple[Run, set[str]]]:
    """Per model, scorer and subset, every safety-set verdict in one run (pooled, not
    averaged), with the names of the sets it holds."""
    pools: dict[tuple[str, str, str], list[Run]] = defaultdict(list)
    for run in runs:
        if run.benchmark in SAFETY_SETS:
            pools[(run.model, run.scorer, run.subset)].append(run)
    return [
        (Run(
            model=model, benchmark=SAFETY, scorer=scorer,
            harness=_join(r.harness for r in sets),
            source=_join(r.source for r in sets),
            created=max(r.created for r in sets),
            verdicts=[v for r in sets for v in r.verdicts],
            datasets=[f"{r.benchmark}: {_join(r.datasets)}" for r in sets],
            judge_template_sha256=sets[0].judge_template_sha256,
            subset=subset,
        ), {r.benchmark for r in sets})
        for (model, scorer, subset), sets in pools.items()
    ]


def _run_rows(run: Run) -> list[dict[str, Any]]:
    rows = [_row(run, "overall")]
    rates = shown(run.benchmark).rates
    placed = [_as_row(v) for v in run.verdicts]
    by_domain = breakdown([r for r in placed if r["domain"]], "domain", rates)
    for domain in sorted(by_domain, key=lambda d: (_DOMAIN_ORDER.get(d, 99), d)):
        rows.append(_row(run, "domain", by_domain[domain], domain=domain))
    where = {v.category: (v.category_id, v.domain) for v in run.verdicts if v.category}
    by_category = breakdown([r for r in placed if r["category"]], "category", rates)
    if set(by_category) - {"uncategorized"}:  # a set without categories gets no such rows
        order = sorted(by_category, key=lambda c: (where[c][0] is None, where[c][0] or 0, c))
        for category in order:
            category_id, domain = where[category]
            rows.append(_row(run, "category", by_category[category], category_name=category,
                             category_id=category_id, domain=domain))
    return rows


def _as_row(verdict: Verdict) -> dict[str, Any]:
    return {"verdict": verdict.verdict, "failure": verdict.failure,
            "category": verdict.category, "domain": verdict.domain}


def _row(run: Run, scope: str, summary: dict[str, Any] | None = None, *,
         category_name: str | None = None, category_id: int | None = None,
         domain: str | None = None) -> dict[str, Any]:
    if summary is None:
        summary = summarize([v.verdict for v in run.verdicts], shown(run.benchmark).rates,
                            [v.failure for v in run.verdicts])
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(summary)
    row.update(
        model=run.model, benchmark=run.benchmark, subset=run.subset, scorer=run.scorer,
        scope=scope, category_name=category_name, category_id=category_id, domain=domain,
        judge_template_sha256=run.judge_template_sha256, harness=run.harness,
        dataset=_join(run.datasets), created=run.created.isoformat(timespec="seconds"),
        source=run.source, flag=_flag(summary, run.subset),
    )
    return row


def _flag(summary: dict[str, Any], subset: str) -> str:
    flags = [undetermined_flag(summary), f"a subset ({subset}), not the benchmark" if subset
             else ""]
    return "; ".join(f for f in flags if f)


def _join(values: Any) -> str:
    return "; ".join(dict.fromkeys(v for v in values if v))


def write_table(rows: list[dict[str, Any]], output_dir: Path) -> list[Path]:
    csv_path, json_path = output_dir / "results.csv", output_dir / "results.json"
    with open(csv_path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    json_path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return [csv_path, json_path]
