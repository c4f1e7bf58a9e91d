"""What each word means to the compiled terms: term words become classes, post words sets of them.

A term word is compiled to a set of *symbols* it accepts: ("ru", lemma) / ("uk", lemma) for a
bare Cyrillic word (every lemma pymorphy3 gives it), ("en", stem) for a bare Latin word,
("raw", word) for other bare words (digits), ("form", word) for a quoted word and
("prefix", p) for p*. Each distinct symbol set is a *class*; a phrase is a sequence of
classes. A post word is resolved once (then cached) to the classes it satisfies: those
sharing a symbol with it.

Resolving a post word must not call pymorphy3 for every word (60+ µs each). At compile time
each bare Cyrillic term word's dictionary readings give their whole paradigms, so a post word
in the dictionary is found in `forms` by one dict lookup, with exactly the lemmas pymorphy3
would give it. Only words the dictionary lacks are guessed by pymorphy3, and only when they
start with the stem of a term lemma (see _GUESS_DICTIONARY_LEMMAS). English words
are stemmed only when their first letters are those of a term stem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.rules import morph
from bot.rules.normalize import normalize_word, script
from bot.rules.syntax import Word, WordKind

FILLER = "\x01"  # a post word no term word accepts; never part of a phrase pattern
GUESS_KEY = 3  # letters indexing the stems of term lemmas
_STEM = 4  # a stem keeps at least this many letters of its lemma (all of a shorter lemma)
_ENDING = 2  # letters an inflection may change at the end of a lemma ("-ка" in -ку, -ке)
# A post word the dictionary lacks is guessed when it starts with the stem of a term lemma
# that was itself guessed ("рашистами" for рашист), and in Ukrainian also of a dictionary
# lemma: Ukrainian posts mix in Russian forms ("жеста доброї волі"), which the Ukrainian
# dictionary lacks. Guessing needs a dictionary lookup per distinct word (~20 µs), so it is
# not done for every Russian word that starts like a known lemma.
_GUESS_DICTIONARY_LEMMAS = frozenset({"uk"})
STEM_KEY = 2
# Languages whose lemmas a post word gets, by the post's Cyrillic language.
MODE_LANGUAGES = {"ru": ("ru",), "uk": ("uk",), "other": ("ru", "uk")}


def class_char(class_id: int) -> str:
    """The character that stands for a class in phrase patterns (skipping surrogates)."""
    code = class_id + 0x100
    return chr(code if code < 0xD800 else code + 0x800)


@dataclass(slots=True)
class Vocabulary:
    """Symbol tables built from the terms; read-only once the matcher is compiled."""

    symbols: dict[tuple[str, str], int] = field(default_factory=dict)
    classes: dict[frozenset[int], int] = field(default_factory=dict)
    forms: dict[str, dict[str, tuple[int, ...]]] = field(
        default_factory=lambda: {lang: {} for lang in morph.LANGUAGES}
    )
    guess_stems: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: {lang: {} for lang in morph.LANGUAGES}
    )
    prefixes: dict[int, dict[str, int]] = field(default_factory=dict)
    stem_keys: set[str] = field(default_factory=set)
    symbol_classes: dict[int, tuple[int, ...]] = field(default_factory=dict)
    latin_words: set[str] = field(default_factory=set)
    _word_classes: dict[tuple[Word, str | None], int] = field(default_factory=dict)

    def word_class(self, word: Word, language: str | None) -> int:
        """The class of a term word; language is the term's Cyrillic language ("ru"/"uk")."""
        key = (word, language)
        found = self._word_classes.get(key)
        if found is None:
            accepted = frozenset(self._term_symbols(word, language))
            found = self.classes.setdefault(accepted, len(self.classes))
            for symbol in accepted:
                self.symbol_classes[symbol] = (*self.symbol_classes.get(symbol, ()), found)
            self._word_classes[key] = found
        return found

    def _symbol(self, kind: str, text: str) -> int:
        return self.symbols.setdefault((kind, text), len(self.symbols))

    def _term_symbols(self, word: Word, language: str | None) -> list[int]:
        text = word.text
        if word.kind is WordKind.EXACT:
            return [self._symbol("form", text)]
        if word.kind is WordKind.PREFIX:
            symbol = self._symbol("prefix", text)
            self.prefixes.setdefault(len(text), {})[text] = symbol
            return [symbol]
        kind = script(text)
        if kind == "cyrillic":
            return self._lemma_symbols(language or "ru", text)
        if kind == "latin":
            self.latin_words.add(text)
            stem = morph.stem(text)
            self.stem_keys.add(stem[:STEM_KEY])
            return [self._symbol("en", stem)]
        return [self._symbol("raw", text)]

    def _lemma_symbols(self, language: str, text: str) -> list[int]:
        forms = self.forms[language]
        readings = morph.paradigms(language, text)
        found = []
        for lemma, paradigm in readings:
            found.append(self._symbol(language, lemma))
            for form in paradigm:
                _add(forms, form, found[-1])
        if not readings:
            found = [self._symbol(language, lemma) for lemma in morph.lemmas(language, text)]
            for symbol in found:
                _add(forms, text, symbol)
        if not readings or language in _GUESS_DICTIONARY_LEMMAS:
            for lemma in morph.lemmas(language, text):
                stem = lemma[: max(_STEM, len(lemma) - _ENDING)]
                self.guess_stems[language].setdefault(stem[:GUESS_KEY], set()).add(stem)
        return found

    def post_symbols(self, norm: str, languages: Iterable[str]) -> set[int]:
        """The symbols a normalised post word carries, for these Cyrillic languages."""
        found: set[int] = set()
        exact = self.symbols.get(("form", norm))
        if exact is not None:
            found.add(exact)
        for length, table in self.prefixes.items():
            symbol = table.get(norm[:length]) if len(norm) >= length else None
            if symbol is not None:
                found.add(symbol)
        kind = script(norm)
        if kind == "cyrillic":
            for language in languages:
                found.update(self._post_lemma_symbols(language, norm))
        elif kind == "latin":
            if norm[:STEM_KEY] in self.stem_keys:
                symbol = self.symbols.get(("en", morph.stem(norm)))
                if symbol is not None:
                    found.add(symbol)
        else:
            raw = self.symbols.get(("raw", norm))
            if raw is not None:
                found.add(raw)
        return found

    def _post_lemma_symbols(self, language: str, norm: str) -> Iterable[int]:
        known = self.forms[language].get(norm)
        if known is not None:
            return known
        stems = self.guess_stems[language].get(norm[:GUESS_KEY])
        if stems is None or not any(norm.startswith(stem) for stem in stems):
            return ()
        guessed = morph.predicted_lemmas(language, norm)
        return [
            s for s in (self.symbols.get((language, lemma)) for lemma in guessed) if s is not None
        ]

    def value_of(self, symbols: Iterable[int]) -> str:
        """The sorted class characters these symbols satisfy; FILLER when none."""
        classes: set[int] = set()
        for symbol in symbols:
            classes.update(self.symbol_classes.get(symbol, ()))
        return "".join(class_char(c) for c in sorted(classes)) or FILLER

    def resolve(self, raw_word: str, mode: str) -> str:
        """The class characters a post word as written satisfies; FILLER when none."""
        return self.value_of(self.post_symbols(normalize_word(raw_word), MODE_LANGUAGES[mode]))

    def special_words(self) -> set[str]:
        """Words whose value is more than their dictionary lemmas: quoted, prefixed, other."""
        special = {text for kind, text in self.symbols if kind in ("form", "raw", "prefix")}
        special.update(self.latin_words)
        if self.prefixes:
            for forms in self.forms.values():
                special.update(word for word in forms if self.has_prefix(word))
        return special

    def has_prefix(self, word: str) -> bool:
        return any(word[:length] in table for length, table in self.prefixes.items())

    def prefix_chains(self) -> list[set[int]]:
        """For each prefix p*, the prefix symbols a word starting with exactly p carries."""
        chains = []
        for table in self.prefixes.values():
            for prefix in table:
                chain = {
                    symbol
                    for length, other in self.prefixes.items()
                    if (symbol := other.get(prefix[:length])) is not None and length <= len(prefix)
                }
                chains.append(chain)
        return chains


def _add(forms: dict[str, tuple[int, ...]], form: str, symbol: int) -> None:
    existing = forms.get(form, ())
    if symbol not in existing:
        forms[form] = (*existing, symbol)
