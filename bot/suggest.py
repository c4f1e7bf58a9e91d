"""/suggest: term changes learnt from moderators' verdicts (pure; no I/O).

Words and two-word phrases are counted as lemmas (bot.rules.morph, the rules' own
lemmatiser), once per post, so a lemma phrase is also a term in the term language: a bare
phrase matches its words in any inflected form. Two comparisons, each ranked by the
log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn, "Fightin'
Words", Political Analysis 16(4), 2008, eq. 16-22):

- NOT-terms: phrases over-represented in the matches moderators rejected (not this framing,
  quoted to debunk it) against the ones they marked correct;
- new terms: phrases over-represented in the correct matches against the stored posts the
  framing does not match yet.

For a phrase w with y_i posts in group i (n_i phrase occurrences in all), y_j in group j,
and a prior a_w = A0 * (its share of all phrase occurrences read), where A0, the prior's
weight, is the smaller group's n: the prior shrinks rare phrases as much as the smaller
group's evidence weighs, whatever the size of the background:

    delta_w = ln((y_i + a_w) / (n_i + A0 - y_i - a_w)) - ln((y_j + a_w) / (n_j + A0 - y_j - a_w))
    var_w   = 1 / (y_i + a_w) + 1 / (y_j + a_w)
    z_w     = delta_w / sqrt(var_w)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice, pairwise

import numpy as np

from bot.rules import TermError, check_term
from bot.rules.morph import display_lemmas, stem
from bot.rules.normalize import cyrillic_language, script, tokenize

MIN_POSTS = 2  # a phrase must be in at least this many posts of the group it stands for
SHOWN = 8  # suggestions of each kind shown
MIN_WORD = 2  # shorter words (and numbers) are not counted

Phrase = tuple[str, ...]  # lemma keys of one or two words


@dataclass(frozen=True, slots=True)
class Doc:
    """A post as /suggest counts it."""

    text: str
    link: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    phrase: str  # the lemma phrase, as a term would be written
    z: float
    delta: float
    focus: int  # posts of the over-represented group containing it
    other: int  # posts of the other group containing it
    example: str  # link of a post containing it


@dataclass(frozen=True, slots=True)
class Suggestions:
    not_terms: list[Suggestion]
    new_terms: list[Suggestion]


class Lemmatiser:
    """Lemma keys and their display words, memoised for one /suggest run (a run reads many
    more distinct words than morph's own caches hold)."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str], tuple[str, str] | None] = {}
        self.display: dict[str, str] = {}

    def words(self, text: str) -> list[str]:
        """The lemma keys of the text's words, in order (short words and numbers left out)."""
        lang = cyrillic_language(text)
        lang = lang if lang in ("ru", "uk") else "ru"
        keys = []
        for token in tokenize(text):
            memo_key = (lang, token.norm)
            if memo_key in self._memo:
                found = self._memo[memo_key]
            else:
                found = self._memo[memo_key] = self._lemma(lang, token.norm)
            if found is not None:
                key, shown = found
                keys.append(key)
                self.display.setdefault(key, shown)
        return keys

    @staticmethod
    def _lemma(lang: str, word: str) -> tuple[str, str] | None:
        if len(word) < MIN_WORD or word.isdigit():
            return None
        kind = script(word)
        if kind == "cyrillic":
            lemma = (display_lemmas(lang, word) or (word,))[0]
            return lemma, lemma
        if kind == "latin":  # English: a bare word matches its stem's forms, as the rules do
            return "en:" + stem(word), word
        return word, word

    def phrases(self, text: str) -> set[Phrase]:
        """Each word and each pair of neighbouring words, once."""
        keys = self.words(text)
        return {(k,) for k in keys} | set(pairwise(keys))

    def show(self, phrase: Phrase) -> str:
        return " ".join(self.display.get(k, k) for k in phrase)


def log_odds(
    focus: Counter[Phrase],
    other: Counter[Phrase],
    prior: Counter[Phrase],
    candidates: Sequence[Phrase],
    prior_weight: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(delta, z) of each candidate: focus against other, informative Dirichlet prior of
    weight prior_weight (A0; None: the smaller group's total)."""
    n_i, n_j, n_prior = sum(focus.values()), sum(other.values()), sum(prior.values())
    if prior_weight is None:
        prior_weight = float(min(n_i, n_j))
    y_i = np.array([focus[w] for w in candidates], dtype=float)
    y_j = np.array([other[w] for w in candidates], dtype=float)
    alpha = prior_weight * np.array([prior[w] for w in candidates], dtype=float) / n_prior
    delta = np.log((y_i + alpha) / (n_i + prior_weight - y_i - alpha)) - np.log(
        (y_j + alpha) / (n_j + prior_weight - y_j - alpha)
    )
    z = delta / np.sqrt(1 / (y_i + alpha) + 1 / (y_j + alpha))
    return delta, z


def suggest(
    wrong: Sequence[Doc],
    correct: Sequence[Doc],
    unmatched: Sequence[Doc],
    terms: Iterable[str],
    shown: int = SHOWN,
) -> Suggestions:
    """NOT-terms (rejected vs correct matches) and new terms (correct matches vs posts the
    framing does not match), each ranked by z, highest first."""
    lem = Lemmatiser()
    groups = {"wrong": wrong, "correct": correct, "unmatched": unmatched}
    sets = {name: [lem.phrases(d.text) for d in docs] for name, docs in groups.items()}
    counts = {name: Counter(p for s in found for p in s) for name, found in sets.items()}
    prior = counts["wrong"] + counts["correct"] + counts["unmatched"]
    # A phrase made only of words of an existing term would add nothing as a term.
    known = [set(lem.words(term)) for term in terms]
    not_terms = _ranked(lem, counts["wrong"], counts["correct"], prior, wrong, sets["wrong"], shown)
    new = _ranked(
        lem,
        counts["correct"],
        counts["unmatched"],
        prior,
        [*unmatched, *correct],  # an example the framing misses is the telling one
        [*sets["unmatched"], *sets["correct"]],
        shown,
        skip=lambda p: any(set(p) <= words for words in known),
    )
    return Suggestions(not_terms, new)


def _ranked(
    lem: Lemmatiser,
    focus: Counter[Phrase],
    other: Counter[Phrase],
    prior: Counter[Phrase],
    docs: Sequence[Doc],
    doc_phrases: Sequence[set[Phrase]],
    shown: int,
    skip: Callable[[Phrase], bool] | None = None,
) -> list[Suggestion]:
    if not focus or not other:
        return []
    candidates = [p for p, n in focus.items() if n >= MIN_POSTS and not (skip and skip(p))]
    if not candidates:
        return []
    delta, z = log_odds(focus, other, prior, candidates)
    order = sorted(range(len(candidates)), key=lambda k: (-z[k], lem.show(candidates[k])))
    # Checked as terms only as far down the ranking as needed (the check tokenises).
    picked = islice((k for k in order if z[k] > 0 and _is_term(lem.show(candidates[k]))), shown)
    return [
        Suggestion(
            lem.show(candidates[k]),
            float(z[k]),
            float(delta[k]),
            focus[candidates[k]],
            other[candidates[k]],
            next(
                (d.link for d, s in zip(docs, doc_phrases, strict=True) if candidates[k] in s), ""
            ),
        )
        for k in picked
    ]


def _is_term(text: str) -> bool:
    """Whether the phrase is a valid term as written (no operator words, not too long)."""
    try:
        check_term(text)
    except TermError:
        return False
    return True
