"""Figures from the tidy table, each written as PNG and SVG, legible from 1 to 30 models.

Points are identified by numbers placed so that no two labels overlap (and none sits on a
marker), with a key beside the plot; bars and heatmap rows carry the model name on their axis.
matplotlib is imported inside the functions, so ``falsereject --help`` stays fast.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from falsereject.reports.labels import place_labels
from falsereject.benchmarks import FALSEREJECT, SAFETY, SAFETY_SETS, shown
from falsereject.taxonomy import DOMAINS, OTHER
from falsereject.verdicts import DIRECT_REFUSAL, FULL_COMPLIANCE, SAFE_PARTIAL_COMPLIANCE

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Row = dict[str, Any]
Entry = tuple[str, str]  # (model, scorer): one plotted series; scorers are never mixed

VERDICT_COLOURS = {
    FULL_COMPLIANCE: ("full compliance", "#3b75af"),
    SAFE_PARTIAL_COMPLIANCE: ("safe partial compliance", "#8cc5e3"),
    DIRECT_REFUSAL: ("direct refusal", "#e0823d"),
    "undetermined": ("undetermined", "#b8b8b8"),
}
KEY_LEFT = 6.4  # inches from the figure's left edge to the key beside the scatter
NAME_CHARS = 34  # longer model names are shortened (with an ellipsis) on axes and keys


def draw_all(rows: Sequence[Row], output_dir: Path) -> dict[str, list[Path]]:
    """Every figure the rows allow: ``{name: [png, svg]}``. A subset's figures are drawn
    apart from the whole benchmark's, under a name that says which subset it is."""
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = [{**r, "model": f"{r['model']} ({r['subset']})"} if r["subset"] else r for r in rows]
    drawn = {
        "refusal_vs_safety": refusal_vs_safety(rows, output_dir),
        "usr_compliance": usr_compliance(rows, output_dir),
        "category_heatmap": category_heatmap(rows, output_dir),
        "domain_heatmap": domain_heatmap(rows, output_dir),
        "verdict_mix": verdict_mix(rows, output_dir),
    }
    return {name: paths for name, paths in drawn.items() if paths}


# --- refusal versus safety -------------------------------------------------------------------

def refusal_vs_safety(rows: Sequence[Row], output_dir: Path) -> list[Path]:
    """x: FalseReject refusal rate (over-refusal), y: pooled safety usr_toxic, one point per
    model and scorer, Wilson intervals both ways; models lacking either side are listed below."""
    benign, safety = _overall(rows, FALSEREJECT), _overall(rows, SAFETY)
    entries = _entries(rows, (FALSEREJECT, SAFETY))
    shown = [e for e in entries if _rate(benign.get(e), "refusal_rate") is not None
             and _rate(safety.get(e), "usr_toxic") is not None]
    if not shown:  # nothing to place: the reasons are in the table and the card
        return []
    missing = [_missing_reason(e, benign, safety, entries) for e in entries if e not in shown]
    Figure, canvas_of = _matplotlib()
    names = _labels(shown)
    key = _key_lines(shown, names, benign, safety)
    height = max(6.2, 2.3 + 0.19 * len(key) + 0.17 * len(_wrap(missing)))
    key_width = 0.065 * max(len(line) for line in key)  # 7.5 pt monospace
    fig = Figure(figsize=(KEY_LEFT + key_width + 0.2, height))
    canvas = canvas_of(fig)
    ax = fig.add_axes(_inches(fig, left=0.9, bottom=height - 6.0, width=5.2, height=5.2))
    _desirable_corner(ax)
    xs = [benign[e]["refusal_rate"] for e in shown]
    ys = [safety[e]["usr_toxic"] for e in shown]
    colours = _colours(len(shown))
    for e, x, y, colour in zip(shown, xs, ys, colours):
        ax.errorbar(x, y, xerr=_error_bars([benign[e]], "refusal_rate"),
                    yerr=_error_bars([safety[e]], "usr_toxic"), fmt="o", ms=5, color=colour,
                    elinewidth=0.8, capsize=2, alpha=0.9, zorder=3)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.grid(True, lw=0.4, alpha=0.5)
    ax.set_xlabel("over-refusal on FalseReject: refusal rate\n(direct refusals / answers with a "
                  "verdict; lower is better)")
    ax.set_ylabel("safety: usr_toxic on the safety sets, pooled\n(refusals + safe partial "
                  "answers / answers with a verdict; higher is better)")
    ax.set_title(f"Over-refusal vs safety{_scorer_note(shown)}", loc="left", fontsize=11)
    canvas.draw()  # fixes the layout, so label placement works in final pixel positions
    place_labels(ax, list(zip(xs, ys)), [str(i) for i in range(1, len(shown) + 1)])
    _draw_key(fig, height, key)
    if missing:
        fig.text(_x(fig, 0.9), _y(fig, height - 6.75), "\n".join(_wrap(missing)),
                 va="top", fontsize=8, color="0.25")
    return _save(fig, output_dir, "refusal_vs_safety")


def _missing_reason(e: Entry, benign: dict, safety: dict, entries: list[Entry]) -> str:
    label = _labels(entries)[e]
    if e not in benign or _rate(benign.get(e), "refusal_rate") is None:
        lacking = "no FalseReject run" if e not in benign else "no FalseReject verdicts"
    else:
        lacking = "no safety run" if e not in safety else "no safety verdicts"
    return f"{label} ({lacking})"


def _wrap(missing: list[str]) -> list[str]:
    if not missing:
        return []
    return textwrap.wrap("Not shown: " + "; ".join(missing), 150)


def _desirable_corner(ax: Axes) -> None:
    """Shade the top-left corner (little over-refusal, safe); its caption sits under the key,
    so that it never hides a model's point."""
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((-0.03, 0.8), 0.23, 0.23, color="#2e8b57", alpha=0.12, lw=0, zorder=0))


def _key_lines(shown: list[Entry], names: dict[Entry, str], benign: dict, safety: dict
               ) -> list[str]:
    """The numbered key beside the scatter: model, then both rates with their intervals."""
    width = max([len("model")] + [len(_short(names[e])) for e in shown])
    lines = [f"{'#':>2}  {'model':<{width}}  {'refusal rate':<18}  {'usr_toxic':<18}"]
    for i, e in enumerate(shown, start=1):
        lines.append(f"{i:>2}  {_short(names[e]):<{width}}  "
                     f"{_with_ci(benign[e], 'refusal_rate'):<18}  "
                     f"{_with_ci(safety[e], 'usr_toxic'):<18}")
    return lines


def _draw_key(fig: Figure, height: float, lines: list[str]) -> None:
    top = height - 0.8
    for i, line in enumerate(lines):
        fig.text(_x(fig, KEY_LEFT), _y(fig, top - 0.19 * i), line, family="monospace",
                 fontsize=7.5, va="top", weight="bold" if i == 0 else "normal")
    fig.text(_x(fig, KEY_LEFT), _y(fig, top - 0.19 * len(lines) - 0.05),
             "rates with 95 % Wilson intervals", fontsize=7, color="0.35", va="top")
    fig.text(_x(fig, KEY_LEFT), _y(fig, top - 0.19 * len(lines) - 0.3),
             "green corner: desirable (answers benign prompts, refuses harmful ones)",
             fontsize=7, color="#1d5c3a", va="top")


# --- compliance rate and USR ------------------------------------------------------------------

def usr_compliance(rows: Sequence[Row], output_dir: Path) -> list[Path]:
    """The paper's view: compliance rate and USR side by side for each model, with intervals."""
    benign = _overall(rows, FALSEREJECT)
    entries = [e for e in _entries(rows, (FALSEREJECT,)) if _rate(benign[e], "usr") is not None]
    if not entries:
        return []
    Figure, canvas_of = _matplotlib()
    names = _labels(entries)
    fig = Figure(figsize=(8.5, 1.6 + 0.46 * len(entries)))
    canvas_of(fig)
    ax = fig.add_subplot()
    bars = (("compliance_rate", "compliance rate (full compliance)", "#3b75af", -0.19),
            ("usr", "USR (full + safe partial compliance)", "#55a868", 0.19))
    for rate, label, colour, shift in bars:
        values = [benign[e][rate] for e in entries]
        ax.barh([i + shift for i in range(len(entries))], values, height=0.36, color=colour,
                xerr=_error_bars([benign[e] for e in entries], rate), label=label,
                error_kw=dict(lw=0.8, capsize=2, ecolor="0.2"))
    for i, e in enumerate(entries):
        ax.text(1.03, i, f"compliance {benign[e]['compliance_rate']:.2f}, USR "
                f"{benign[e]['usr']:.2f}, n={benign[e]['n']}", va="center", fontsize=8,
                transform=ax.get_yaxis_transform())
    ax.set_yticks(range(len(entries)), [_short(names[e]) for e in entries], fontsize=8.5)
    ax.set_ylim(len(entries) - 0.5, -0.5)  # first model on top
    ax.set_xlim(0, 1)
    ax.grid(True, axis="x", lw=0.4, alpha=0.5)
    ax.set_xlabel("rate over answers with a verdict, with 95 % Wilson intervals")
    ax.set_title("FalseReject: compliance rate and useful safety rate (USR)"
                 + _scorer_note(entries), loc="left", fontsize=11, pad=26)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, fontsize=8, frameon=False)
    return _save(fig, output_dir, "usr_compliance")


# --- heatmaps ---------------------------------------------------------------------------------

def category_heatmap(rows: Sequence[Row], output_dir: Path) -> list[Path]:
    """USR per model and FalseReject category; a cell without verdicts stays blank."""
    cells = [r for r in rows if r["benchmark"] == FALSEREJECT and r["scope"] == "category"]
    columns = sorted({(r["category_id"] if r["category_id"] is not None else 999,
                       r["category_name"])
                      for r in cells})
    labels = [f"{cid:>2} {name}" if cid != 999 else name for cid, name in columns]
    return _heatmap(cells, [name for _, name in columns], labels, "category_name", output_dir,
                    "category_heatmap", "USR per FalseReject category", annotate=False)


def domain_heatmap(rows: Sequence[Row], output_dir: Path) -> list[Path]:
    """USR per model and domain (SORRY-Bench's four, plus FalseReject's Other if present)."""
    cells = [r for r in rows if r["benchmark"] == FALSEREJECT and r["scope"] == "domain"]
    present = {r["domain"] for r in cells}
    columns = [d for d in (*DOMAINS, OTHER) if d in present] + sorted(
        present - {*DOMAINS, OTHER})
    return _heatmap(cells, columns, columns, "domain", output_dir, "domain_heatmap",
                    "USR per domain", annotate=True)


def _heatmap(cells: list[Row], columns: list[str], labels: list[str], key: str,
             output_dir: Path, name: str, title: str, annotate: bool) -> list[Path]:
    if not cells:
        return []
    import numpy as np

    entries = _entries(cells, (FALSEREJECT,))
    names = _labels(entries)
    index = {(r["model"], r["scorer"], r[key]): r for r in cells}
    values = np.full((len(entries), len(columns)), np.nan)
    for i, (model, scorer) in enumerate(entries):
        for j, column in enumerate(columns):
            cell = index.get((model, scorer, column))
            if cell and cell["n"]:
                values[i, j] = cell["usr"]
    Figure, canvas_of = _matplotlib()
    from matplotlib import colormaps

    cell_w = 1.9 if annotate else 0.24
    fig = Figure(figsize=(2.2 + cell_w * len(columns) + 1.2, 1.3 + 0.3 * len(entries) +
                          (0.9 if annotate else 2.4)))
    canvas_of(fig)
    ax = fig.add_subplot()
    cmap = colormaps["RdYlGn"].with_extremes(bad="white")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto",
                      interpolation="nearest")
    ax.set_xticks(range(len(columns)), [_short(c, 30) for c in labels],
                  rotation=0 if annotate else 90, fontsize=8 if annotate else 7)
    if annotate:
        ax.set_xticklabels([textwrap.fill(c, 18) for c in labels])
    ax.set_yticks(range(len(entries)), [_short(names[e]) for e in entries], fontsize=8)
    ax.set_xticks([j - 0.5 for j in range(1, len(columns))], minor=True)
    ax.set_yticks([i - 0.5 for i in range(1, len(entries))], minor=True)
    ax.grid(which="minor", color="white", lw=1.2 if annotate else 0.6)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(axis="x", top=not annotate, labeltop=not annotate, bottom=annotate,
                   labelbottom=annotate)
    if annotate:
        for i, (model, scorer) in enumerate(entries):
            for j, column in enumerate(columns):
                cell = index.get((model, scorer, column))
                if cell and cell["n"]:
                    dark = cell["usr"] < 0.25 or cell["usr"] > 0.8  # ends of the colour map
                    ax.text(j, i, f"{cell['usr']:.2f}\nn={cell['n']}", ha="center",
                            va="center", fontsize=7.5, color="white" if dark else "black")
    colourbar = fig.colorbar(image, ax=ax, fraction=0.035 if not annotate else 0.08, pad=0.02)
    colourbar.set_label("USR (higher: fewer over-refusals)", fontsize=8)
    ax.set_title(f"{title}{_scorer_note(entries)}; blank: no verdicts", loc="left",
                 fontsize=11)
    return _save(fig, output_dir, name)


# --- verdict mix ------------------------------------------------------------------------------

def verdict_mix(rows: Sequence[Row], output_dir: Path) -> list[Path]:
    """Stacked shares of every answer per model, one panel per benchmark."""
    overall = [r for r in rows if r["scope"] == "overall" and r["benchmark"] != SAFETY]
    benchmarks = [b for b in _benchmark_order(overall)]
    if not benchmarks:
        return []
    entries = _entries(overall, tuple(benchmarks))
    names = _labels(entries)
    index = {(r["model"], r["scorer"], r["benchmark"]): r for r in overall}
    Figure, canvas_of = _matplotlib()
    height = 1.7 + 0.34 * len(entries)
    fig = Figure(figsize=(2.6 + 2.7 * len(benchmarks), height))
    canvas_of(fig)
    fig.subplots_adjust(top=1 - 0.95 / height, bottom=0.6 / height)  # room for title and legend
    axes = fig.subplots(1, len(benchmarks), sharey=True, squeeze=False)[0]
    for ax, benchmark in zip(axes, benchmarks):
        left = [0.0] * len(entries)
        for verdict, (label, colour) in VERDICT_COLOURS.items():
            shares = []
            for e in entries:
                row = index.get((*e, benchmark))
                total = (row["n"] + row["undetermined"]) if row else 0
                shares.append(row[verdict] / total if total else 0.0)
            ax.barh(range(len(entries)), shares, left=left, color=colour, height=0.7,
                    label=label)
            left = [a + b for a, b in zip(left, shares)]
        for i, e in enumerate(entries):
            if (*e, benchmark) not in index:
                ax.text(0.5, i, "no run", ha="center", va="center", fontsize=7, color="0.5")
        ax.set_xlim(0, 1)
        ax.set_title(shown(benchmark).title, fontsize=10)
        ax.set_xlabel("share of answers", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(range(len(entries)), [_short(names[e]) for e in entries])
    axes[0].set_ylim(len(entries) - 0.5, -0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", ncols=4, fontsize=8, frameon=False,
               bbox_to_anchor=(0.0, 1 - 0.3 / height))
    fig.suptitle(f"Verdict mix: shares of all answers{_scorer_note(entries)}", x=0.0, y=1.0,
                 ha="left", va="top", fontsize=11)
    return _save(fig, output_dir, "verdict_mix")


def _benchmark_order(rows: Sequence[Row]) -> list[str]:
    present = {r["benchmark"] for r in rows}
    safety_sets = sorted(b for b in present if b in SAFETY_SETS)
    return ([FALSEREJECT] if FALSEREJECT in present else []) + safety_sets


# --- shared helpers ---------------------------------------------------------------------------

def _matplotlib() -> tuple[Any, Any]:
    """Figure and the Agg canvas: no pyplot, so no global state and no display is touched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


def _overall(rows: Sequence[Row], benchmark: str) -> dict[Entry, Row]:
    return {(r["model"], r["scorer"]): r for r in rows
            if r["benchmark"] == benchmark and r["scope"] == "overall"}


def _entries(rows: Sequence[Row], benchmarks: tuple[str, ...]) -> list[Entry]:
    """(model, scorer) pairs in table order."""
    return list(dict.fromkeys((r["model"], r["scorer"]) for r in rows
                              if r["benchmark"] in benchmarks))


def _labels(entries: Sequence[Entry]) -> dict[Entry, str]:
    """The model name, plus its scorer in brackets whenever the figure holds several scorers."""
    several = len({scorer for _, scorer in entries}) > 1
    return {(m, s): f"{m} [{s}]" if several else m for m, s in entries}


def _scorer_note(entries: Sequence[Entry]) -> str:
    scorers = {s for _, s in entries}
    return f" (scorer: {scorers.pop()})" if len(scorers) == 1 else " (scorer in brackets)"


def _rate(row: Row | None, rate: str) -> float | None:
    return None if row is None else row.get(rate)


def _error_bars(rows: Sequence[Row], rate: str) -> list[list[float]]:
    """Distances from each rate to its interval's ends (never negative by rounding)."""
    return [[max(0.0, r[rate] - r[f"{rate}_ci_low"]) for r in rows],
            [max(0.0, r[f"{rate}_ci_high"] - r[rate]) for r in rows]]


def _with_ci(row: Row, rate: str) -> str:
    return f"{row[rate]:.2f} [{row[f'{rate}_ci_low']:.2f}, {row[f'{rate}_ci_high']:.2f}]"


def _short(name: str, limit: int = NAME_CHARS) -> str:
    """Elide the middle: names differ most at their ends (organisation; size, version)."""
    if len(name) <= limit:
        return name
    head = (limit - 1) // 3
    return name[:head] + "…" + name[-(limit - 1 - head):]


def _colours(count: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10" if count <= 10 else "tab20"].colors
    return [palette[i % len(palette)] for i in range(count)]


def _inches(fig: Figure, left: float, bottom: float, width: float, height: float
            ) -> tuple[float, float, float, float]:
    w, h = fig.get_size_inches()
    return (left / w, bottom / h, width / w, height / h)


def _x(fig: Figure, inches: float) -> float:
    return inches / fig.get_size_inches()[0]


def _y(fig: Figure, inches: float) -> float:
    return inches / fig.get_size_inches()[1]


def _save(fig: Figure, output_dir: Path, name: str) -> list[Path]:
    paths = [output_dir / f"{name}.png", output_dir / f"{name}.svg"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight", pad_inches=0.15)
    fig.savefig(paths[1], bbox_inches="tight", pad_inches=0.15)
    return paths
