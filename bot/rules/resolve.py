"""Per-matcher memo of what each post word means to the terms: its classes and group code.

A post word is resolved once per matcher and mode (post language), then costs one dict
lookup. Resolving is what a fresh matcher spends most of its time on (a post brings ~10 words
it has not seen yet), so it has a fast path: the words of a post that are new are normalised
together (normalize_words), and a normalised word that is an ordinary dictionary form of a
term word (the common case) or clearly no term's word (the most common) is resolved with a
few dict lookups, its value shared by every word with the same symbols. Only words that could
mean more (quoted forms, prefixes, English stems, guessed lemmas, other scripts) go through
Vocabulary.post_symbols; both ways give the same value.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.rules import morph
from bot.rules.normalize import normalize_words, script
from bot.rules.scanner import ACCELERATED, Resolver
from bot.rules.vocabulary import FILLER, GUESS_KEY, MODE_LANGUAGES, STEM_KEY, Vocabulary

RESOLVED_LIMIT = 300_000  # distinct words cached per matcher and mode before starting over
Symbols = tuple[int, ...]


class ResolvedWords:
    """The memo, per mode. Filling it is the only mutation after compile.

    Under the GIL a dict get/set is atomic, so threads may share it (at worst two threads
    resolve the same word twice, with the same result). It is cleared when it grows past a
    bound, so a long rescan cannot grow it forever.
    """

    def __init__(
        self, vocabulary: Vocabulary, group_value: dict[str, Callable[[str], str]]
    ) -> None:
        self._vocabulary = vocabulary
        self._group_value = group_value
        self.groups: dict[str, dict[str, str]] = {mode: {} for mode in MODE_LANGUAGES}
        self.classes: dict[str, dict[str, str]] = {mode: {} for mode in MODE_LANGUAGES}
        # Words the fast path must not judge by their dictionary forms alone (post_symbols
        # looks a word up in the forms only when it is in Cyrillic script).
        self._special = vocabulary.special_words()
        self._special.update(
            form
            for forms in vocabulary.forms.values()
            for form in forms
            if script(form) != "cyrillic"
        )
        # Per mode, for each of its languages: the dictionary forms of the term words and the
        # stems of guessed term lemmas (as tuples, for one C-level str.startswith call).
        guess_stems = {
            language: {key: tuple(stems) for key, stems in by_key.items()}
            for language, by_key in vocabulary.guess_stems.items()
        }
        self._tables = {
            mode: [(vocabulary.forms[language], guess_stems[language]) for language in languages]
            for mode, languages in MODE_LANGUAGES.items()
        }
        self._by_symbols: dict[str, dict[Symbols, tuple[str, str]]] = {
            mode: {} for mode in MODE_LANGUAGES
        }
        self.classes_getters = {mode: self._classes_getter(mode) for mode in MODE_LANGUAGES}
        # Only the C scanner uses resolvers (python_scan leaves every new word to fill()),
        # and there is nothing to resolve without phrase patterns (no group values).
        self._resolvers = {
            mode: self._resolver(mode) if ACCELERATED and mode in group_value else None
            for mode in MODE_LANGUAGES
        }

    def for_scan(self, mode: str) -> tuple[dict[str, str], Resolver | None]:
        """The group memo of a mode, emptied first if it is too large, and its resolver."""
        memo = self.groups[mode]
        if len(memo) > RESOLVED_LIMIT:
            self.clear(mode)
        return memo, self._resolvers[mode]

    def clear(self, mode: str) -> None:
        """Forget the words of a mode (both memos), so a long rescan cannot grow them forever."""
        self.groups[mode].clear()
        self.classes[mode].clear()

    def _resolver(self, mode: str) -> Resolver | None:
        """What lets the C scanner resolve new words of a one-language mode as _fast() would.

        Known: every dictionary form of a term word, with its value (None for the special
        words, which _fast() leaves to _slow()). An English word whose first letters start a
        term stem has the value of its stem, as _slow() gives it. Any other word has the
        value of no symbols (FILLER's), unless it starts with a guessed stem or a prefix:
        those are left to Python, as _fast() leaves them to _slow(). Takes ~0.05 s for
        10,000 terms. None for the mode of two languages (posts whose language is unclear;
        rare): Python resolves its words.
        """
        if len(self._tables[mode]) != 1:
            return None
        forms, guess_stems = self._tables[mode][0]
        vocabulary = self._vocabulary
        known: dict[str, tuple[str, str] | None] = {}
        values: dict[Symbols, tuple[str, str]] = {}
        for norm, symbols in forms.items():
            value = values.get(symbols)
            if value is None:
                classes, group = self._value(symbols, mode)
                value = values[symbols] = (group, classes)  # the order the scanner wants
            known[norm] = value
        # English term words are special to _fast() only because they need a stem: the C
        # scanner stems them itself (unless they are also quoted, raw or prefixed words).
        other = {text for kind, text in vocabulary.symbols if kind in ("form", "raw", "prefix")}
        english = vocabulary.latin_words - other - forms.keys()
        known.update(dict.fromkeys(self._special - english))
        suspects = [(length, frozenset(table)) for length, table in vocabulary.prefixes.items()]
        stem_values = {}
        for (kind, stem), symbol in vocabulary.symbols.items():
            if kind == "en":
                classes, group = self._value((symbol,), mode)
                stem_values[stem] = (group, classes)
        classes, group = self._value((), mode)
        return (
            self.classes[mode],
            known,
            guess_stems,
            GUESS_KEY,
            tuple(suspects),
            (group, classes),
            frozenset(vocabulary.stem_keys),
            STEM_KEY,
            morph.stem,
            stem_values,
        )

    def _value(self, symbols: Symbols, mode: str) -> tuple[str, str]:
        """The (classes, group) of a word with these symbols."""
        by_symbols = self._by_symbols[mode]
        value = by_symbols.get(symbols)
        if value is None:
            classes = self._vocabulary.value_of(symbols)
            value = by_symbols[symbols] = (classes, self._group_value[mode](classes))
        return value

    def fill(self, words: list[str], groups: list[str | None], mode: str) -> None:
        """Resolve the words whose group is None, in place, remembering them."""
        group_cache, class_cache = self.groups[mode], self.classes[mode]
        missing = [index for index, group in enumerate(groups) if group is None]
        norms = normalize_words([words[index] for index in missing])
        for index, norm in zip(missing, norms, strict=True):
            word = words[index]
            classes, group = self._fast(norm, mode) or self._slow(norm, mode)
            if classes != FILLER:  # a FILLER word is in no phrase: nothing reads its classes
                class_cache[word] = classes
            groups[index] = group_cache[word] = group

    def _fast(self, norm: str, mode: str) -> tuple[str, str] | None:
        """The value of an ordinary word from its dictionary forms; None when that may not be
        all it means (Vocabulary.post_symbols decides then)."""
        if norm in self._special:
            return None
        symbols: Symbols = ()
        for forms, guess_stems in self._tables[mode]:
            found = forms.get(norm)
            if found is not None:
                symbols += found
            elif norm.startswith(guess_stems.get(norm[:GUESS_KEY], ())):
                return None  # an unknown word that may get a guessed lemma
        vocabulary = self._vocabulary
        if not symbols and (
            norm[:STEM_KEY] in vocabulary.stem_keys
            or (vocabulary.prefixes and vocabulary.has_prefix(norm))
        ):
            return None  # maybe an English word of a term, or one starting with a prefix
        return self._value(symbols, mode)

    def _slow(self, norm: str, mode: str) -> tuple[str, str]:
        symbols = self._vocabulary.post_symbols(norm, MODE_LANGUAGES[mode])
        classes = self._vocabulary.value_of(symbols)
        return classes, self._group_value[mode](classes)

    def _classes_getter(self, mode: str) -> Callable[[str], str]:
        """A function giving a word's class characters: from the memo, else resolved again
        (the memo may have been cleared by another thread since the word was resolved).

        Words of no class (FILLER) are not kept in the class memo; their group says so.
        """
        cache, groups = self.classes[mode], self.groups[mode]
        resolve = self._vocabulary.resolve
        group_value = self._group_value.get(mode)
        filler_group = group_value(FILLER) if group_value else None

        def classes(word: str) -> str:
            found = cache.get(word)
            if found is not None:
                return found
            if filler_group is not None and groups.get(word) == filler_group:
                return FILLER
            return resolve(word, mode)

        return classes

    def all_classes(self, words: list[str], mode: str) -> list[str]:
        """The class characters of each word (resolved again if the memo was just cleared)."""
        return list(map(self.classes_getters[mode], words))
