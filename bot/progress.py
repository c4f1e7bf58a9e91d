"""Progress bars of long command-line jobs, drawn by rich on stderr: share done, amount,
rate and time left. Shown only on a terminal, so piped output and logs stay clean."""

from __future__ import annotations

import sys
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text


class _Rate(ProgressColumn):
    """Items per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "?/s")


class ProgressBar:
    """Called with (done, total) as work goes on; close() when the job ends."""

    def __init__(self, label: str, *, in_bytes: bool = False, file: IO[str] | None = None) -> None:
        amount: list[ProgressColumn] = (
            [DownloadColumn(), TransferSpeedColumn()]
            if in_bytes
            else [MofNCompleteColumn(), _Rate()]
        )
        self._label = label
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            *amount,
            TimeRemainingColumn(),
            console=Console(file=file or sys.stderr),
            refresh_per_second=5,
        )
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int | None) -> None:
        """total None: not known (an export's rows), the bar shows amount and rate only."""
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()


def progress_bar(label: str, *, in_bytes: bool = False) -> ProgressBar | None:
    """A bar when stderr is a terminal, else None (nothing is drawn)."""
    return ProgressBar(label, in_bytes=in_bytes) if sys.stderr.isatty() else None


class StageBars:
    """One bar per stage of a job (scanning, indexing, rescanning): called with (stage,
    done, total), a bar appears when its stage starts and the previous stage's bar stops
    (rich draws one live display at a time). Off a terminal it draws nothing."""

    def __init__(self, file: IO[str] | None = None) -> None:
        self._file = file
        self._bars: dict[str, ProgressBar] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            if self._file is None and not sys.stderr.isatty():
                return
            self.close()
            bar = self._bars[stage] = ProgressBar(stage, file=self._file)
        bar(done, total)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
