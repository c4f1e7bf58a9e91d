"""Long CLI jobs draw their progress with rich: share, amount, rate and time left."""

from __future__ import annotations

import io

from bot.progress import ProgressBar, StageBars, progress_bar


def test_a_byte_bar_ends_at_the_whole_file_with_its_size() -> None:
    out = io.StringIO()
    bar = ProgressBar("importing", in_bytes=True, file=out)
    bar(1_000_000, 4_000_000)
    bar(4_000_000, 4_000_000)
    bar.close()
    drawn = out.getvalue()
    assert "importing" in drawn and "100%" in drawn and "4.0 MB" in drawn


def test_a_count_bar_shows_done_of_total() -> None:
    out = io.StringIO()
    bar = ProgressBar("scanning", file=out)
    bar(250, 1000)
    bar(1000, 1000)
    bar.close()
    assert "1000/1000" in out.getvalue()


def test_nothing_is_drawn_off_a_terminal() -> None:
    assert progress_bar("importing") is None  # pytest captures stderr: not a terminal


def test_stage_bars_draw_one_bar_per_stage_in_turn() -> None:
    out = io.StringIO()
    bars = StageBars(file=out)
    bars("scanning", 500, 1000)
    bars("scanning", 1000, 1000)
    bars("indexing", 1000, None)  # total unknown: amount and rate only
    bars.close()
    drawn = out.getvalue()
    assert "scanning" in drawn and "1000/1000" in drawn and "indexing" in drawn
