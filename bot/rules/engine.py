"""The compiled matcher: every term of every framing in one Aho-Corasick search.

Compile: each term is parsed (syntax.py); each phrase in it becomes, for every language the
term could be in, a pattern of class characters (vocabulary.py: one character per term word,
standing for the lemmas, form or prefix it accepts). All patterns go into one pyahocorasick
automaton per post language (search.py); regex terms go into one RE2 set (regex.py).

Find (the hot loops are in scanner.py): the post's words come from one regex split (C speed);
each word becomes its group code through a per-matcher memo (resolve.py), so a word costs one
dict lookup once seen (a word no term accepts is FILLER). The automaton then finds every
phrase of every term in one pass over the joined codes, in C; each automaton value carries the
(term, framing) pairs of its phrases, so a plain phrase term becomes a hit in the same loop,
and those hits need no set to be distinct (see _direct_hits). Boolean and NEAR terms are
evaluated (evaluate.py) only when one of their positive phrases occurred.

Compile and find are pure apart from the memo of resolved words (see ResolvedWords), so a
matcher may be shared by worker threads.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any, NamedTuple

from bot.rules.batch_codes import HashedCodes
from bot.rules.batch_words import BatchWords, located_words, split_batch
from bot.rules.evaluate import Occurrence, all_phrases, evaluate, positive_phrases
from bot.rules.normalize import cyrillic_language, term_languages
from bot.rules.regex import RegexSet, compile_pattern
from bot.rules.resolve import ResolvedWords
from bot.rules.scanner import (
    Check,
    Extra,
    Owner,
    RawHit,
    WordAt,
    bounds_of,
    collect,
    joined_codes,
    split_parts,
    split_words,
)
from bot.rules.search import build_searches
from bot.rules.syntax import Node, Phrase, Regex, TermError, clean, has_evidence, parse
from bot.rules.vocabulary import Vocabulary, class_char

log = logging.getLogger(__name__)


class Analysis(NamedTuple):
    """What find() saw in a text: words, their classes, and phrase occurrences.

    A named tuple: find() makes one per post, and a frozen dataclass costs more to create.
    """

    words: list[str]
    spans: Sequence[int]  # word i is text[spans[2i]:spans[2i + 1]]
    mode: str
    occurrences: list[tuple[int, int, int]]  # (phrase id, first word, last word)


class Engine:
    def __init__(self, rules: Iterable[tuple[int, int, str]]) -> None:
        self.vocabulary = Vocabulary()
        self.patterns: dict[str, int] = {}
        self.phrase_ids: dict[Phrase, tuple[int, ...]] = {}
        self.terms: dict[str, Node] = {}  # term text as given -> tree, for explain()
        self.languages: dict[str, tuple[str, ...]] = {}  # term text -> its Cyrillic languages
        self._simple: list[list[Owner]] = []
        self._complex_refs: list[set[int]] = []
        self._complex: list[tuple[list[Owner], Node]] = []
        self._tracked: set[int] = set()  # phrase ids that boolean and NEAR terms look at
        regex_owners: dict[str, list[Owner]] = {}
        regexes: dict[str, Any] = {}
        for text, owners in _group_by_text(rules).items():
            node = _parse_stored(text)
            if node is None:
                continue
            self.terms[text] = node
            if isinstance(node, Regex):
                self._add_regex(node, owners, regexes, regex_owners)
            else:
                self._add_term(text, node, owners)
        self._regex_owners = list(regex_owners.values())
        self._regexes = RegexSet(list(regexes.values())) if regexes else None
        self._searches = build_searches(self.vocabulary, self.patterns, self._match_payload)
        self._resolved = ResolvedWords(
            self.vocabulary, {mode: search.group_value for mode, search in self._searches.items()}
        )
        self._needs_mode = any(kind in ("ru", "uk") for kind, _ in self.vocabulary.symbols)
        self._hashed = HashedCodes()

    def _add_regex(
        self, node: Regex, owners: list[Owner], regexes: dict[str, Any], by: dict[str, list[Owner]]
    ) -> None:
        try:
            compiled = compile_pattern(node.pattern)
        except TermError as exc:
            log.warning("skipping regex term %r: %s", node.pattern[:60], exc)
            return
        regexes.setdefault(node.pattern, compiled)
        by.setdefault(node.pattern, []).extend(owners)

    def _add_term(self, text: str, node: Node, owners: list[Owner]) -> None:
        languages = self.languages[text] = term_languages(text)
        for phrase in all_phrases(node):
            if phrase not in self.phrase_ids:
                self.phrase_ids[phrase] = self._compile_phrase(phrase, languages)
        if isinstance(node, Phrase):
            for pid in self.phrase_ids[node]:
                self._simple[pid].extend(owners)
            return
        index = len(self._complex)
        self._complex.append((owners, node))
        for phrase in all_phrases(node):
            self._tracked.update(self.phrase_ids[phrase])
        for phrase in positive_phrases(node):
            for pid in self.phrase_ids[phrase]:
                self._complex_refs[pid].add(index)

    def _compile_phrase(self, phrase: Phrase, languages: tuple[str, ...]) -> tuple[int, ...]:
        pids = set()
        for language in languages:
            pattern = "".join(
                class_char(self.vocabulary.word_class(word, language)) for word in phrase.words
            )
            pid = self.patterns.setdefault(pattern, len(self.patterns))
            if pid == len(self._simple):
                self._simple.append([])
                self._complex_refs.append(set())
            pids.add(pid)
        return tuple(sorted(pids))

    def _match_payload(
        self, plain: tuple[int, ...], checked: tuple[tuple[int, Check], ...]
    ) -> tuple[tuple[Owner, ...], Extra | None]:
        """For an automaton match: the (term, framing) pairs of its phrases needing no check,
        each once, and the Extra for the rest, None when there is none (most values)."""
        simple = self._simple
        owners = tuple(dict.fromkeys(owner for pid in plain for owner in simple[pid]))
        plain_tracked = tuple(pid for pid in plain if pid in self._tracked)
        if not plain_tracked and not checked:
            return owners, None
        entries = tuple(
            (check, tuple(simple[pid]), pid if pid in self._tracked else -1)
            for pid, check in checked
        )
        every_owner = [*owners, *(owner for _, more, _ in entries for owner in more)]
        repeats = len(set(every_owner)) < len(every_owner)
        return owners, (plain_tracked, entries, repeats)

    def find(self, text: str) -> list[RawHit]:
        """Hits as (start, term_id, framing_id, end), sorted, without duplicates."""
        hits: list[RawHit] = []
        may_repeat = False  # a list of distinct hits needs no set (see _direct_hits)
        if self._searches:
            direct = self._direct_hits(text, hits)
            may_repeat = self._walked(text, hits) if direct is None else direct
        return self._finished(text, hits, may_repeat)

    def find_many(self, texts: Sequence[str]) -> list[list[RawHit]]:
        """find() of each text, with the words of the whole batch found and looked up at
        once (batch_words.py): what a bulk scan calls. The same hits as find()."""
        if not self._searches or not texts:
            return [self.find(text) for text in texts]
        batch = split_batch(list(texts))
        modes = batch.languages() if self._needs_mode else ["other"] * len(texts)
        tokens = self._batch_tokens(batch, modes)
        counts = batch.counts()
        found: list[list[RawHit]] = []
        for i, text in enumerate(texts):
            hits: list[RawHit] = []
            joined = tokens[i]
            if joined is None:
                direct = self._direct_hits(text, hits)
            else:
                located = functools.partial(located_words, text, batch, i)
                direct = self._token_hits(joined, counts[i], modes[i], hits, located)
            may_repeat = self._walked(text, hits) if direct is None else direct
            found.append(self._finished(text, hits, may_repeat))
        return found

    def _batch_tokens(self, batch: BatchWords, modes: list[str]) -> list[str | None]:
        """Each text's joined group codes, from the codes of the batch's distinct words
        (None for a text find_many leaves to find(): see HashedCodes)."""
        return self._hashed.tokens(batch, modes, self._resolved.groups_of)

    def _walked(self, text: str, hits: list[RawHit]) -> bool:
        """The hits of a post that needs the class-trie walk (see _direct_hits)."""
        analysis = self.analyse(text)
        if analysis.occurrences:
            self._phrase_hits(analysis, hits)
        return True

    def _finished(self, text: str, hits: list[RawHit], may_repeat: bool) -> list[RawHit]:
        """hits with the regex terms' added, sorted, each once."""
        if self._regexes is not None:
            for index, spans in self._regexes.spans(text):
                may_repeat = True
                for term_id, framing_id in self._regex_owners[index]:
                    hits.extend((start, term_id, framing_id, end) for start, end in spans)
        if may_repeat:
            return sorted(set(hits))
        hits.sort()
        return hits

    def analyse(self, text: str) -> Analysis:
        """The words of a text, its mode and every phrase occurrence in it."""
        mode = self._mode(text)
        words, bounds = split_words(text)
        if not self._searches:
            return Analysis(words, bounds, mode, [])
        groups = self._resolved.groups_of(words, mode)
        classes = self._resolved.classes_getters[mode]
        occurrences = self._searches[mode].occurrences(groups, words, classes)
        return Analysis(words, bounds, mode, occurrences)

    def _mode(self, text: str) -> str:
        return cyrillic_language(text) if self._needs_mode else "other"

    def _direct_hits(self, text: str, hits: list[RawHit]) -> bool | None:
        """Phrase hits added as the automaton finds the phrases (what analyse() and
        _phrase_hits() give in two passes, at about half the cost). None when the post needs
        the class-trie walk (a word in several groups, see search.py) and nothing was added;
        else whether hits may now hold a hit twice.

        Hits are distinct without a set unless _match_payload() found that a value's owners
        overlap, or boolean and NEAR terms add theirs: a span of words is one phrase key.
        """
        mode = self._mode(text)
        parts = split_parts(text)
        words = parts[1::2]
        tokens = joined_codes(words, self._resolved.memo(mode))
        if tokens is None:  # new words: resolve them, once per matcher
            tokens = "".join(self._resolved.groups_of(words, mode))
        return self._token_hits(tokens, len(words), mode, hits, lambda: (words, bounds_of(parts)))

    def _token_hits(
        self,
        tokens: str,
        count: int,
        mode: str,
        hits: list[RawHit],
        located: Callable[[], tuple[WordAt, list[int]]],
    ) -> bool | None:
        """_direct_hits() from a text's joined group codes (count words): located() gives its
        words and their bounds, asked only when some phrase occurs."""
        search = self._searches[mode]
        width = search.width
        if len(tokens) != width * count:
            return None
        # ~20 phrases per post with 10,000 terms, a quarter of them needing checks.
        class_memo, fallback = self._resolved.classes[mode], self._resolved.classes_getters[mode]
        matches = search.automaton.iter(tokens)
        first = next(matches, None)
        if first is None:  # no phrase: the words' positions are never needed
            return False
        words, bounds = located()
        found = collect(chain((first,), matches), bounds, width, hits, words, class_memo, fallback)
        tracked, may_repeat = found
        if tracked:
            self._complex_hits(tracked, bounds, hits)
            may_repeat = True
        return may_repeat

    def _phrase_hits(self, analysis: Analysis, hits: list[RawHit]) -> None:
        occurrences, spans = analysis.occurrences, analysis.spans
        for pid, first, last in occurrences:
            start, end = spans[2 * first], spans[2 * last + 1]
            hits.extend(
                (start, term_id, framing_id, end) for term_id, framing_id in self._simple[pid]
            )
        if self._complex:
            self._complex_hits(occurrences, spans, hits)

    def _complex_hits(
        self, occurrences: list[tuple[int, int, int]], spans: Sequence[int], hits: list[RawHit]
    ) -> None:
        """Hits of boolean and NEAR terms, given (at least) the occurrences of their phrases."""
        refs = self._complex_refs
        candidates: set[int] = set().union(*(refs[pid] for pid, _, _ in occurrences))
        if candidates:
            finder = self.occurrence_finder(occurrences)
            for index in candidates:
                owners, node = self._complex[index]
                evidence = evaluate(node, finder)
                if evidence is not None and evidence[0] >= 0:
                    start, end = spans[2 * evidence[0]], spans[2 * evidence[1] + 1]
                    hits.extend((start, t, f, end) for t, f in owners)

    def word_classes(self, words: list[str], mode: str) -> list[str]:
        """The class characters each post word satisfies (for explain)."""
        return self._resolved.all_classes(words, mode)

    def occurrence_finder(self, occurrences: list[tuple[int, int, int]]) -> Any:
        by_phrase: dict[int, list[Occurrence]] = {}
        for pid, first, last in occurrences:
            by_phrase.setdefault(pid, []).append((first, last))

        def find(phrase: Phrase) -> list[Occurrence]:
            found: set[Occurrence] = set()
            for pid in self.phrase_ids[phrase]:
                found.update(by_phrase.get(pid, ()))
            return sorted(found)

        return find


def _group_by_text(rules: Iterable[tuple[int, int, str]]) -> dict[str, list[Owner]]:
    grouped: dict[str, list[Owner]] = {}
    for term_id, framing_id, text in rules:
        grouped.setdefault(text, []).append((term_id, framing_id))
    return grouped


def term_problem(text: str) -> str | None:
    """Why a stored term is skipped by the matcher (shown as broken by /framings), or None.

    The same checks as _parse_stored and _add_regex, so what /framings calls broken is
    exactly what the scan leaves out."""
    try:
        node = parse(clean(text))
    except TermError as exc:
        return str(exc)
    if isinstance(node, Regex):
        try:
            compile_pattern(node.pattern)
        except TermError as exc:
            return str(exc)
        return None
    return None if has_evidence(node) else "it matches only through NOT"


def _parse_stored(text: str) -> Node | None:
    """The tree of a stored term; a term that no longer parses is skipped with a warning."""
    try:
        node = parse(clean(text))
    except TermError as exc:
        if any(ch.isalnum() for ch in text):
            log.warning("skipping term %r: %s", text[:60], exc)
        return None
    if not isinstance(node, Regex) and not has_evidence(node):
        log.warning("skipping term %r: it matches only through NOT", text[:60])
        return None
    return node
