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
from typing import cast

from bot.rules.normalize import normalize_words, script
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
        # (classes, group) by normalised word: raw words differ more than their normalised
        # forms (case, ё, stress marks, look-alikes), and the value depends only on the latter.
        self._by_norm: dict[str, dict[str, tuple[str, str]]] = {mode: {} for mode in MODE_LANGUAGES}
        self.classes_getters = {mode: self._classes_getter(mode) for mode in MODE_LANGUAGES}

    def memo(self, mode: str) -> dict[str, str]:
        """The group memo of a mode (word -> group code), emptied first if it is too large."""
        memo = self.groups[mode]
        if len(memo) > RESOLVED_LIMIT:
            self.clear(mode)
        return memo

    def clear(self, mode: str) -> None:
        """Forget the words of a mode (every memo), so a long rescan cannot grow them forever."""
        self.groups[mode].clear()
        self.classes[mode].clear()
        self._by_norm[mode].clear()

    def groups_of(self, words: list[str], mode: str) -> list[str]:
        """The group code of each word, resolving and remembering the words the memo lacks.

        The codes come from this call's own results, not from a second memo read: another
        thread may clear the memo at any moment.
        """
        memo = self.memo(mode)
        groups = list(map(memo.get, words))
        missing = [word for word, group in zip(words, groups, strict=True) if group is None]
        if not missing:
            return cast(list[str], groups)
        resolved = self._resolve(list(dict.fromkeys(missing)), mode)
        pairs = zip(words, groups, strict=True)
        return [resolved[word] if group is None else group for word, group in pairs]

    def _value(self, symbols: Symbols, mode: str) -> tuple[str, str]:
        """The (classes, group) of a word with these symbols."""
        by_symbols = self._by_symbols[mode]
        value = by_symbols.get(symbols)
        if value is None:
            classes = self._vocabulary.value_of(symbols)
            value = by_symbols[symbols] = (classes, self._group_value[mode](classes))
        return value

    def _resolve(self, words: list[str], mode: str) -> dict[str, str]:
        """The group code of each (distinct) new word, remembered in both memos."""
        group_cache, class_cache, by_norm = (
            self.groups[mode],
            self.classes[mode],
            self._by_norm[mode],
        )
        codes: dict[str, str] = {}
        for word, norm in zip(words, normalize_words(words), strict=True):
            value = by_norm.get(norm)
            if value is None:
                value = by_norm[norm] = self._fast(norm, mode) or self._slow(norm, mode)
            classes, group = value
            if classes != FILLER:  # a FILLER word is in no phrase: nothing reads its classes
                class_cache[word] = classes
            codes[word] = group_cache[word] = group
        return codes

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
