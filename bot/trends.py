"""Daily trends and spikes of framings (pure: no I/O, no clock).

Method (in the spirit of the Farrington / Noufaily algorithms used in public-health
surveillance, on a trailing baseline as in CDC's EARS and ECDC's epitweetr):

1. For each framing and day t, the baseline is the BASELINE_DAYS days before t, leaving out
   a guard band of the GUARD_DAYS days just before t (a rise that started yesterday must
   not raise its own expectation). Days with no stored post at all carry no information
   and are left out.
2. The framing's baseline share of posts is a weighted ratio, sum(w*y) / sum(w*N) (y: its
   matched posts, N: all posts stored that day), with half a post added on top so a
   framing silent for the whole baseline still has a small, finite expectation.
   Channels come and go, so the expected count of day t is that share times day t's N.
3. Overdispersion phi >= 1 is the weighted Pearson statistic of the baseline days.
   Past outliers are down-weighted (Noufaily 2013): a baseline day whose standardised
   residual exceeds OUTLIER_Z gets weight z**-2 instead of 1, then the weights are
   rescaled to sum to the number of days; REWEIGHT_ROUNDS rounds.
4. The count of day t is tested against a negative binomial with that mean and variance
   phi * mean (Poisson when phi = 1), with Lancaster's mid-p, P(X > y) + P(X = y) / 2:
   the plain P(X >= y) of a discrete count is conservative, most at small counts, where
   5 posts against 1.5 expected would otherwise never reach p < 0.01. `limit` is the
   smallest count with p below the threshold.
5. A spike needs p < threshold, at least min_posts posts and min_channels channels
   (watchdogs never count), and is never a framing's first day ever (that day is "new").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bot.trend_status import TrendDay

BASELINE_DAYS = 28
GUARD_DAYS = 2
OUTLIER_Z = 2.58  # Noufaily et al. (2013): residuals above the 99.5% normal quantile
REWEIGHT_ROUNDS = 2
PSEUDO_POSTS = 0.5  # added to the baseline's matched posts: a prior of half a post
HISTORY_DAYS = BASELINE_DAYS + GUARD_DAYS  # days before the first one evaluated
_MAX_STEPS = 200  # bounds the search for the limit; a few steps are the rule


@dataclass(frozen=True, slots=True)
class TrendParams:
    p_threshold: float = 0.01
    min_posts: int = 5
    min_channels: int = 2


@dataclass(frozen=True, slots=True)
class DailyCount:
    """A framing's matched posts on one local day (watchdogs and unapproved left out)."""

    framing: str
    day: date
    posts: int
    channels: int


@dataclass(frozen=True, slots=True)
class _Grid:
    slugs: list[str]
    days: list[date]  # HISTORY_DAYS before `start`, then start..end
    posts: Any  # int array, framings x days
    channels: Any
    totals: Any  # int array, days


def compute_trends(
    counts: Sequence[DailyCount],
    totals: Mapping[date, int],
    first_days: Mapping[str, date],
    start: date,
    end: date,
    params: TrendParams,
) -> dict[str, list[TrendDay]]:
    """Every framing of `counts` or `first_days`: one TrendDay per day of [start, end].

    `counts` and `totals` must cover HISTORY_DAYS before `start` too (the baseline).
    """
    grid = _grid(counts, totals, first_days, start, end)
    if not grid.slugs or end < start:
        return {}
    expected, phi, known = _baseline(grid.posts, grid.totals)
    y = grid.posts[:, HISTORY_DAYS:]
    p_values, limits = _tail(y, expected, phi, known, params.p_threshold)
    days = grid.days[HISTORY_DAYS:]
    totals_now = grid.totals[HISTORY_DAYS:].tolist()
    # Plain Python lists: reading numpy scalars one by one would dominate the run time.
    posts = grid.posts[:, HISTORY_DAYS:].tolist()
    channels = grid.channels[:, HISTORY_DAYS:].tolist()
    columns = (expected.tolist(), limits.tolist(), p_values.tolist(), known.tolist())
    result: dict[str, list[TrendDay]] = {}
    for row, slug in enumerate(grid.slugs):
        first = first_days.get(slug)
        exp_row, limit_row, p_row, known_row = (column[row] for column in columns)
        result[slug] = [
            _mark(
                TrendDay(
                    slug,
                    day,
                    posts[row][col],
                    channels[row][col],
                    posts[row][col] / totals_now[col] if totals_now[col] else 0.0,
                    exp_row[col],
                    limit_row[col],
                    p_row[col],
                    False,
                    False,
                ),
                first,
                params,
                known_row[col],
            )
            for col, day in enumerate(days)
        ]
    return result


def _mark(day: TrendDay, first: date | None, params: TrendParams, known: bool) -> TrendDay:
    new = first is not None and day.day == first
    spike = (
        known
        and not new
        and day.p_value < params.p_threshold
        and day.posts >= params.min_posts
        and day.channels >= params.min_channels
    )
    if not (new or spike):
        return day
    return TrendDay(
        day.framing,
        day.day,
        day.posts,
        day.channels,
        day.share,
        day.expected,
        day.limit,
        day.p_value,
        spike,
        new,
    )


def _grid(
    counts: Sequence[DailyCount],
    totals: Mapping[date, int],
    first_days: Mapping[str, date],
    start: date,
    end: date,
) -> _Grid:
    first = start - timedelta(days=HISTORY_DAYS)
    length = max((end - first).days + 1, 0)
    days = [first + timedelta(days=i) for i in range(length)]
    slugs = sorted({c.framing for c in counts} | set(first_days))
    index = {slug: i for i, slug in enumerate(slugs)}
    posts = np.zeros((len(slugs), length), dtype=np.int64)
    channels = np.zeros((len(slugs), length), dtype=np.int64)
    for c in counts:
        col = (c.day - first).days
        if 0 <= col < length:
            posts[index[c.framing], col] = c.posts
            channels[index[c.framing], col] = c.channels
    total = np.array([totals.get(d, 0) for d in days], dtype=np.int64)
    # A day's total includes its matched posts, whatever the caller passed.
    total = np.maximum(total, posts.max(axis=0) if len(slugs) else total)
    return _Grid(slugs, days, posts, channels, total)


def _baseline(posts: Any, totals: Any) -> tuple[Any, Any, Any]:
    """(expected, phi, known) for every framing and evaluated day (framings x days).

    known: whether the day had any baseline at all (some stored post in its window).
    """
    evaluated = posts.shape[1] - HISTORY_DAYS
    y = sliding_window_view(posts[:, :-GUARD_DAYS], BASELINE_DAYS, axis=1)[:, :evaluated]
    n = sliding_window_view(totals[:-GUARD_DAYS], BASELINE_DAYS)[:evaluated]
    y = y.astype(np.float64)
    n = np.broadcast_to(n.astype(np.float64), y.shape)
    present = (n > 0).astype(np.float64)
    usable = present.sum(axis=2)
    weights = present.copy()
    for _ in range(REWEIGHT_ROUNDS + 1):
        share, phi, z = _fit(y, n, weights, usable)
        down = np.where(z > OUTLIER_Z, 1.0 / np.maximum(z, 1e-9) ** 2, 1.0) * present
        scale = usable / np.maximum(down.sum(axis=2), 1e-12)
        weights = down * scale[..., None]
    expected = share * totals[HISTORY_DAYS:].astype(np.float64)
    return expected, phi, usable > 0


def _fit(y: Any, n: Any, weights: Any, usable: Any) -> tuple[Any, Any, Any]:
    weighted_n = (weights * n).sum(axis=2)
    share = ((weights * y).sum(axis=2) + PSEUDO_POSTS) / np.maximum(weighted_n, 1.0)
    share = np.minimum(share, 1.0)
    mean = share[..., None] * n
    safe = np.maximum(mean, 1e-9)
    pearson = (weights * (y - mean) ** 2 / safe).sum(axis=2)
    phi = np.maximum(pearson / np.maximum(usable - 1, 1), 1.0)
    z = (y - mean) / np.sqrt(phi[..., None] * safe)
    return share, phi, z


def _tail(y: Any, expected: Any, phi: Any, known: Any, alpha: float) -> tuple[Any, Any]:
    """Mid-p = P(X > y) + P(X = y) / 2 and the limit, X negative binomial (mean
    `expected`, variance phi * mean; Poisson where phi = 1)."""
    mean = np.maximum(expected, 1e-9)
    over = phi > 1.0 + 1e-9
    size = mean / np.maximum(phi - 1.0, 1e-9)
    prob = 1.0 / phi

    def mid_p(k: Any) -> Any:
        return np.where(over, _nb_mid_p(k, size, prob), _poisson_mid_p(k, mean))

    p_values = np.where(known, np.clip(mid_p(y), 0.0, 1.0), 1.0)
    # The limit is the least k with mid_p(k) < alpha (mid_p falls as k grows): start from
    # the normal approximation, then step each framing-day up or down to the exact count.
    z = NormalDist().inv_cdf(1.0 - alpha)
    high = np.maximum(np.ceil(mean + z * np.sqrt(phi * mean)), 0.0)
    for _ in range(_MAX_STEPS):
        up = mid_p(high) >= alpha
        if not up.any():
            break
        high = np.where(up, high + np.maximum(1.0, np.ceil(0.1 * np.sqrt(phi * mean))), high)
    for _ in range(_MAX_STEPS):
        down = (high > 0) & (mid_p(np.maximum(high - 1, 0)) < alpha)
        if not down.any():
            break
        high = np.where(down, high - 1, high)
    limits = np.where(known, high, 0)
    return p_values, limits.astype(np.int64)


def _poisson_mid_p(k: Any, mean: Any) -> Any:
    from scipy.special import gammainc, gammaln  # scipy.special: light, unlike scipy.stats

    # P(X > k) = P(k + 1, mean), the regularised lower incomplete gamma function.
    pmf = np.exp(k * np.log(mean) - mean - gammaln(k + 1))
    return gammainc(k + 1, mean) + 0.5 * pmf


def _nb_mid_p(k: Any, size: Any, prob: Any) -> Any:
    from scipy.special import betainc, gammaln

    prob = np.clip(prob, 1e-12, 1 - 1e-12)  # where phi = 1 the Poisson branch is used
    # P(X > k) = I_{1-p}(k + 1, size), the regularised incomplete beta function.
    log_pmf = (
        gammaln(k + size) - gammaln(k + 1) - gammaln(size)
        + size * np.log(prob) + k * np.log1p(-prob)
    )  # fmt: skip
    return betainc(k + 1, size, 1 - prob) + 0.5 * np.exp(log_pmf)
