"""Find the runs in any mix of inputs: lm-eval output folders and files, Inspect logs and
folders of them, and ``falsereject score`` outputs.

A path that does not exist is an error; a file that cannot be used is skipped with a one-line
reason, so that one bad log among fifty does not stop a report.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from falsereject.benchmarks import BenchmarkError
from falsereject.data import DataError, json_objects
from falsereject.lm_eval_files import is_results_file, results_for_samples
from falsereject.reports.inspect_reader import read_log
from falsereject.reports.lm_eval_reader import read_run
from falsereject.reports.runs import Messages, ReportError, Run
from falsereject.reports.score_reader import is_score_row, read_scored

UNREADABLE = (ReportError, DataError, BenchmarkError, OSError, UnicodeDecodeError)


def ingest(inputs: Iterable[Path], messages: Messages) -> list[Run]:
    inputs = list(inputs)
    for path in inputs:
        if not path.exists():
            raise ReportError(f"{path}: no such file or directory")
    sources = _Sources()
    for path in inputs:
        sources.add(path, messages)
    runs: list[Run] = []
    for read in sources.readers():  # each reads one file
        try:
            runs.extend(read(messages))
        except UNREADABLE as err:
            messages.skip(_reason(read.args[0], err))
    return runs


class _Sources:
    """Every file to read, once, whichever inputs named it."""

    def __init__(self) -> None:
        self.results: dict[Path, set[str] | None] = {}  # None: all of the file's tasks
        self.logs: dict[Path, None] = {}
        self.scored: dict[Path, None] = {}

    def add(self, path: Path, messages: Messages) -> None:
        path = path.resolve()
        if path.is_dir():
            self._add_folder(path, messages)
        elif is_results_file(path):
            self.results[path] = None
        elif path.suffix in (".eval", ".json"):
            self.logs[path] = None
        elif path.suffix == ".jsonl":
            self._add_jsonl(path, messages)
        else:
            messages.skip(f"{path}: unknown input kind; expected an lm-eval or Inspect output "
                          "folder, results_*.json, samples_*.jsonl, .eval, .json or .jsonl")

    def _add_folder(self, folder: Path, messages: Messages) -> None:
        from inspect_ai.log import list_eval_logs

        results = sorted(p for p in folder.rglob("results_*.json") if p.is_file())
        logs = [Path(info.name.removeprefix("file://")) for info in list_eval_logs(str(folder))]
        if not results and not logs:
            messages.skip(f"{folder}: no lm-eval results_*.json or Inspect logs in it")
        self.results.update(dict.fromkeys(results))
        self.logs.update(dict.fromkeys(sorted(logs)))

    def _add_jsonl(self, path: Path, messages: Messages) -> None:
        if path.name.startswith("samples_"):
            try:
                run, task = results_for_samples(path)
            except DataError as err:
                messages.skip(str(err))
                return
            results = run.results.resolve()
            if results not in self.results or self.results[results] is not None:
                self.results[results] = (self.results.get(results) or set()) | {task}
            return
        try:
            first = next(json_objects(path), None)
        except UNREADABLE as err:
            messages.skip(_reason(path, err))
            return
        if first is None or not is_score_row(first[2]):
            messages.skip(f"{path}: not a falsereject score output (line 1 has no 'verdict' "
                          "and 'scorer'; score it first with falsereject score --output)")
            return
        self.scored[path] = None

    def readers(self) -> list[partial[list[Run]]]:
        return [
            *(partial(read_run, path, only=tasks) for path, tasks in self.results.items()),
            *(partial(read_log, path) for path in self.logs),
            *(partial(_read_scored, path) for path in self.scored),
        ]


def _read_scored(path: Path, messages: Messages) -> list[Run]:
    return read_scored(path)  # score outputs hold nothing to note: they are read or refused


def _reason(path: Path, err: Exception) -> str:
    """Our errors already name file, line and field; the system's get the file named."""
    if isinstance(err, (ReportError, DataError, BenchmarkError)):
        return str(err)
    return f"{path}: not readable ({type(err).__name__})"
