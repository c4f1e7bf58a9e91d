"""explain(): which terms match a text and why, for /explain. Pure and CPU-bound like find().

For a matching term it lists the post words that made it match, with their normalised form and
lemmas; for a term that does not match, the closest miss when it is cheap to find: the
longest run of the phrase's words found in order ("found 'доброй воли' but not 'жест' within
the phrase"), which parts of a boolean term were found, missing or excluded, or how far apart
the two phrases of a NEAR term are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.rules import morph
from bot.rules.engine import Analysis, Engine
from bot.rules.evaluate import Occurrence, Occurrences, gap, positive_phrases
from bot.rules.matcher import RuleMatcher, TermRule
from bot.rules.normalize import cyrillic_language, normalize_word, script
from bot.rules.syntax import And, Near, Node, Not, Or, Phrase, Regex, render
from bot.rules.vocabulary import MODE_LANGUAGES, class_char


@dataclass(frozen=True, slots=True)
class FoundWord:
    """A post word that a term word matched.

    word: as written in the post; norm: its normalised form; lemmas: its lemmas in the post's
    language (most likely first; the English stem for a Latin word; empty for other words);
    term_word: the term word it matched, normalised (e.g. "жестом", "жестом", ("жест",),
    "жест").
    """

    word: str
    norm: str
    lemmas: tuple[str, ...]
    term_word: str


@dataclass(frozen=True, slots=True)
class TermExplanation:
    """Why one rule matches a text or not.

    matched: whether find() reports it; found: the post words that matched its words (for a
    boolean or NEAR term, those of every positive phrase found); span: (start, end) of its
    first hit in the text, None if it does not match; closest_miss: for a term that does not
    match, a short sentence on what was found, or None when nothing of it was.
    """

    term_id: int
    framing_id: int
    text: str
    matched: bool
    found: tuple[FoundWord, ...]
    span: tuple[int, int] | None
    closest_miss: str | None


def explain(
    text: str, rules: Iterable[TermRule], matcher: RuleMatcher | None = None
) -> list[TermExplanation]:
    """One explanation per rule, in the order given.

    matcher: the one already compiled from these rules (the scan's, bot/scan.py RulesCache);
    compiling thousands of terms takes seconds, so /explain never does it. Without one, the
    rules are compiled here (tests, one-off calls).
    """
    rules = list(rules)
    engine = (
        matcher.engine
        if matcher is not None
        else Engine((rule.term_id, rule.framing_id, rule.text) for rule in rules)
    )
    first_hits: dict[tuple[int, int], tuple[int, int]] = {}
    for start, term_id, framing_id, end in engine.find(text):
        first_hits.setdefault((term_id, framing_id), (start, end))
    context = _Context(text, engine, engine.analyse(text))
    return [
        context.explain(rule, first_hits.get((rule.term_id, rule.framing_id))) for rule in rules
    ]


class _Context:
    def __init__(self, text: str, engine: Engine, analysis: Analysis) -> None:
        self.text = text
        self.engine = engine
        self.words = analysis.words
        spans = analysis.spans
        self.spans = [(spans[2 * i], spans[2 * i + 1]) for i in range(len(analysis.words))]
        self.classes = engine.word_classes(analysis.words, analysis.mode)
        self.occurrences = engine.occurrence_finder(analysis.occurrences)
        self.language = cyrillic_language(text)

    def explain(self, rule: TermRule, span: tuple[int, int] | None) -> TermExplanation:
        node = self.engine.terms.get(rule.text)
        found: list[FoundWord] = []
        miss = None
        if node is not None and span is not None:
            found = self._found(node, span)
        elif node is not None:
            miss = self._miss(rule.text, node)
        return TermExplanation(
            rule.term_id, rule.framing_id, rule.text, span is not None, tuple(found), span, miss
        )

    # What matched.

    def _found(self, node: Node, span: tuple[int, int]) -> list[FoundWord]:
        if isinstance(node, Regex):
            return [
                self._found_word(index, "")
                for index, (start, end) in enumerate(self.spans)
                if start < span[1] and end > span[0]
            ]
        found: list[FoundWord] = []
        for phrase in dict.fromkeys(positive_phrases(node)):
            occurrences = self.occurrences(phrase)
            if occurrences:
                first, _last = occurrences[0]
                found += [
                    self._found_word(first + k, word.text) for k, word in enumerate(phrase.words)
                ]
        return found

    def _found_word(self, index: int, term_word: str) -> FoundWord:
        start, end = self.spans[index]
        written = self.text[start:end]
        norm = normalize_word(written)
        return FoundWord(written, norm, self._lemmas(norm), term_word)

    def _lemmas(self, norm: str) -> tuple[str, ...]:
        kind = script(norm)
        if kind == "latin":
            return (morph.stem(norm),)
        if kind != "cyrillic":
            return ()
        lemmas: dict[str, None] = {}
        for language in MODE_LANGUAGES[self.language]:
            lemmas.update(dict.fromkeys(morph.display_lemmas(language, norm)))
        return tuple(lemmas)

    # The closest miss.

    def _miss(self, text: str, node: Node) -> str | None:
        if isinstance(node, Regex):
            return None
        if isinstance(node, Phrase):
            return self._phrase_miss(text, node)
        found, missing = [], []
        for phrase in dict.fromkeys(positive_phrases(node)):
            occurrences = self.occurrences(phrase)
            if occurrences:
                found.append(f"'{self._quote(occurrences[0])}'")
            else:
                missing.append(f"'{render(phrase)}'")
        excluded = [f"'{render(p)}'" for p in _negated(node) if self.occurrences(p)]
        if not found and not excluded:
            return None
        parts = ["found " + ", ".join(found)] if found else []
        parts += ["not " + ", ".join(missing)] if missing else []
        parts += self._near_distances(node)
        parts += ["excluded by NOT " + ", ".join(excluded)] if excluded else []
        return "; ".join(parts)

    def _near_distances(self, node: Node) -> list[str]:
        notes = []
        for near in _nears(node):
            pairs = [
                gap(a, b)
                for a in self.occurrences(near.first)
                for b in self.occurrences(near.second)
            ]
            if pairs and min(pairs) > near.distance:
                notes.append(
                    f"'{render(near.first)}' and '{render(near.second)}' are {min(pairs)} words "
                    f"apart (NEAR/{near.distance} allows {near.distance})"
                )
        return notes

    def _phrase_miss(self, text: str, phrase: Phrase) -> str | None:
        """The longest run of the phrase's words found in order, and what is missing."""
        chars = self._word_chars(text, phrase)
        best = (0, 0, 0)  # length, first term word, first post word
        for k in range(len(chars)):
            for i in range(len(self.words)):
                length = 0
                while (
                    k + length < len(chars)
                    and i + length < len(self.words)
                    and not chars[k + length].isdisjoint(self.classes[i + length])
                ):
                    length += 1
                best = max(best, (length, -k, -i))
        length, k, i = best[0], -best[1], -best[2]
        if length == 0:
            return None
        missing = [w.text for n, w in enumerate(phrase.words) if not k <= n < k + length]
        found = self._quote((i, i + length - 1))
        return f"found '{found}' but not '{' '.join(missing)}' within the phrase"

    def _word_chars(self, text: str, phrase: Phrase) -> list[set[str]]:
        vocabulary = self.engine.vocabulary
        languages = self.engine.languages.get(text, ("ru", "uk"))
        return [
            {class_char(vocabulary.word_class(word, language)) for language in languages}
            for word in phrase.words
        ]

    def _quote(self, occurrence: Occurrence) -> str:
        return self.text[self.spans[occurrence[0]][0] : self.spans[occurrence[1]][1]]


def _negated(node: Node, negated: bool = False) -> Iterable[Phrase]:
    if isinstance(node, Not):
        yield from _negated(node.item, not negated)
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from _negated(item, negated)
    elif negated and isinstance(node, Phrase):
        yield node
    elif negated and isinstance(node, Near):
        yield node.first
        yield node.second


def _nears(node: Node) -> Iterable[Near]:
    if isinstance(node, Near):
        yield node
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from _nears(item)


__all__ = ["FoundWord", "Occurrences", "TermExplanation", "explain"]
