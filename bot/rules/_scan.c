/* The words of a post and their memoised group codes, in one pass over the text.
 *
 * This is the C version of bot/rules/scanner.py:python_scan, which is the reference: both
 * must give the same results for every text (tests/test_scanner.py compares them). It exists
 * because splitting a post with the word regex and looking each word up from Python costs
 * most of the matcher's time (~60 of ~80 us per post); here it is ~10 us.
 *
 * A word follows bot/rules/normalize.py:word_pattern, driven by a table of 65,536 bytes
 * (one per code point of the Basic Multilingual Plane) built from Python by the same rules:
 *   LETTER  str.isalnum() and not U+02BC (the apostrophe that Unicode calls a letter);
 *   MARK    a combining mark (category M);
 *   JOINER  an apostrophe variant or zero-width character;
 *   OTHER   anything else.
 * Above the BMP a code point is a LETTER when Py_UNICODE_ISALNUM says so (as the regex's \w
 * does), else OTHER. A word starts with a letter and goes on through letters and marks; a
 * run of joiners belongs to it only when a letter or mark follows the run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { OTHER = 0, LETTER = 1, MARK = 2, JOINER = 3 };
#define TABLE_SIZE 0x10000

static inline int
char_class(const unsigned char *table, Py_UCS4 ch)
{
    if (ch < TABLE_SIZE) {
        return table[ch];
    }
    return Py_UNICODE_ISALNUM(ch) ? LETTER : OTHER;
}

/* A growing buffer of code points or of int32 values. */
typedef struct {
    void *data;
    Py_ssize_t used, size;
} Buffer;

static int
reserve(Buffer *buffer, Py_ssize_t more, size_t item)
{
    if (buffer->used + more <= buffer->size) {
        return 0;
    }
    Py_ssize_t size = (buffer->size + more) * 2;
    void *grown = PyMem_Realloc(buffer->data, (size_t)size * item);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    buffer->data = grown;
    buffer->size = size;
    return 0;
}

/* Appends the code points of a group code to the tokens buffer. */
static int
append_code(Buffer *tokens, PyObject *code)
{
    if (!PyUnicode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "memo values must be str");
        return -1;
    }
    const Py_ssize_t length = PyUnicode_GET_LENGTH(code);
    if (reserve(tokens, length, sizeof(Py_UCS4)) < 0) {
        return -1;
    }
    const int kind = PyUnicode_KIND(code);
    const void *data = PyUnicode_DATA(code);
    Py_UCS4 *out = (Py_UCS4 *)tokens->data + tokens->used;
    for (Py_ssize_t k = 0; k < length; k++) {
        out[k] = PyUnicode_READ(kind, data, k);
    }
    tokens->used += length;
    return 0;
}

/* The end of the word starting at start (a letter). */
static Py_ssize_t
word_end(const unsigned char *table, int kind, const void *data, Py_ssize_t length,
         Py_ssize_t i)
{
    for (;;) {
        while (i < length && char_class(table, PyUnicode_READ(kind, data, i)) == LETTER) {
            i++;
        }
        if (i >= length) {
            return i;
        }
        const int next = char_class(table, PyUnicode_READ(kind, data, i));
        if (next == MARK) {
            i++;
            continue;
        }
        if (next != JOINER) {
            return i;
        }
        Py_ssize_t j = i;
        while (j < length && char_class(table, PyUnicode_READ(kind, data, j)) == JOINER) {
            j++;
        }
        if (j >= length) {
            return i;
        }
        const int after = char_class(table, PyUnicode_READ(kind, data, j));
        if (after != LETTER && after != MARK) {
            return i;
        }
        i = j;
    }
}

/* The normalised form of a word made only of ASCII letters and digits, or only of Russian
 * and Ukrainian letters and ASCII digits: for these, bot/rules/normalize.py:normalize_word is
 * lower-casing with ё -> е and ґ -> г (NFKC changes nothing, case-folding is lower-casing,
 * and there are no marks, apostrophes, invisible characters or mixed scripts). Returns a new
 * reference, or Py_None (a new reference too) for any other word, which Python normalises.
 */
#define SIMPLE_MAX 64

static PyObject *
simple_norm(PyObject *word)
{
    const Py_ssize_t length = PyUnicode_GET_LENGTH(word);
    if (length > SIMPLE_MAX) {
        Py_RETURN_NONE;
    }
    const int kind = PyUnicode_KIND(word);
    const void *data = PyUnicode_DATA(word);
    Py_UCS2 out[SIMPLE_MAX];
    int latin = 0, cyrillic = 0;
    for (Py_ssize_t k = 0; k < length; k++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, k);
        if (ch >= '0' && ch <= '9') {
            out[k] = (Py_UCS2)ch;
        }
        else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
            out[k] = (Py_UCS2)(ch | 0x20);
            latin = 1;
        }
        else if (ch >= 0x0410 && ch <= 0x044F) { /* А-я */
            out[k] = (Py_UCS2)(ch < 0x0430 ? ch + 0x20 : ch);
            cyrillic = 1;
        }
        else if (ch == 0x0401 || ch == 0x0451) { /* Ё ё */
            out[k] = 0x0435;
            cyrillic = 1;
        }
        else if (ch == 0x0490 || ch == 0x0491) { /* Ґ ґ */
            out[k] = 0x0433;
            cyrillic = 1;
        }
        else if (ch == 0x0404 || ch == 0x0406 || ch == 0x0407) { /* Є І Ї */
            out[k] = (Py_UCS2)(ch + 0x50);
            cyrillic = 1;
        }
        else if (ch == 0x0454 || ch == 0x0456 || ch == 0x0457) { /* є і ї */
            out[k] = (Py_UCS2)ch;
            cyrillic = 1;
        }
        else {
            Py_RETURN_NONE;
        }
        if (latin && cyrillic) {
            Py_RETURN_NONE; /* look-alike letters are folded by Python */
        }
    }
    return PyUnicode_FromKindAndData(PyUnicode_2BYTE_KIND, out, length);
}

/* Whether Python must resolve a normalised word that is not known: when it starts with one
 * of the guessed stems listed under its first GUESS_KEY letters in guesses, or when
 * norm[:length] is in keys for any (length, keys) pair of suspects.
 */
static int
is_suspect(PyObject *norm, PyObject *guesses, Py_ssize_t guess_key, PyObject *suspects)
{
    const Py_ssize_t norm_length = PyUnicode_GET_LENGTH(norm);
    PyObject *key = PyUnicode_Substring(norm, 0, guess_key < norm_length ? guess_key : norm_length);
    if (key == NULL) {
        return -1;
    }
    PyObject *stems = PyDict_GetItemWithError(guesses, key); /* borrowed */
    Py_DECREF(key);
    if (stems == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (stems != NULL) {
        if (!PyTuple_Check(stems)) {
            PyErr_SetString(PyExc_TypeError, "guessed stems must be tuples");
            return -1;
        }
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(stems); k++) {
            const Py_ssize_t found =
                PyUnicode_Tailmatch(norm, PyTuple_GET_ITEM(stems, k), 0, norm_length, -1);
            if (found != 0) {
                return (int)found;
            }
        }
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(suspects); k++) {
        PyObject *pair = PyTuple_GET_ITEM(suspects, k);
        const Py_ssize_t length = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 0));
        if (length < 0) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "suspect lengths must be positive");
            }
            return -1;
        }
        key = PyUnicode_Substring(norm, 0, length < norm_length ? length : norm_length);
        if (key == NULL) {
            return -1;
        }
        const int found = PySet_Contains(PyTuple_GET_ITEM(pair, 1), key);
        Py_DECREF(key);
        if (found != 0) {
            return found;
        }
    }
    return 0;
}

/* The value of a plain English word whose first STEM_KEY letters start a term's English
 * stem: stem_values[stemmer(norm)], or NULL (no error) for FILLER's value. A borrowed
 * reference (stem_values keeps it); NULL with an error set on failure.
 */
static PyObject *
english_value(PyObject *norm, PyObject *resolver)
{
    PyObject *stem_keys = PyTuple_GET_ITEM(resolver, 6);
    const Py_ssize_t stem_key = PyLong_AsSsize_t(PyTuple_GET_ITEM(resolver, 7));
    PyObject *stemmer = PyTuple_GET_ITEM(resolver, 8);
    PyObject *stem_values = PyTuple_GET_ITEM(resolver, 9);
    const Py_ssize_t length = PyUnicode_GET_LENGTH(norm);
    int latin = 0;
    for (Py_ssize_t k = 0; k < length && !latin; k++) {
        const Py_UCS4 ch = PyUnicode_READ_CHAR(norm, k);
        latin = ch >= 'a' && ch <= 'z'; /* a plain word with a Latin letter is all ASCII */
    }
    if (!latin) {
        return NULL;
    }
    PyObject *key = PyUnicode_Substring(norm, 0, stem_key < length ? stem_key : length);
    const int starts = key == NULL ? -1 : PySet_Contains(stem_keys, key);
    Py_XDECREF(key);
    if (starts <= 0) {
        return NULL;
    }
    PyObject *stem = PyObject_CallOneArg(stemmer, norm);
    if (stem == NULL) {
        return NULL;
    }
    PyObject *value = PyDict_GetItemWithError(stem_values, stem); /* borrowed */
    Py_DECREF(stem);
    return value;
}

/* The group of a word the memo lacks, when C can tell it (see scanner.Resolver); a borrowed
 * reference, NULL with no error set when Python must resolve the word, NULL with an error
 * set on failure. Found values are remembered in the memo and the class memo.
 */
static PyObject *
resolve_new(PyObject *word, PyObject *memo, PyObject *resolver)
{
    PyObject *class_memo = PyTuple_GET_ITEM(resolver, 0);
    PyObject *known = PyTuple_GET_ITEM(resolver, 1);
    PyObject *guesses = PyTuple_GET_ITEM(resolver, 2);
    const Py_ssize_t guess_key = PyLong_AsSsize_t(PyTuple_GET_ITEM(resolver, 3));
    PyObject *suspects = PyTuple_GET_ITEM(resolver, 4);
    PyObject *value = PyTuple_GET_ITEM(resolver, 5); /* FILLER's (group, classes) */
    PyObject *norm = simple_norm(word);
    if (norm == NULL || norm == Py_None) {
        Py_XDECREF(norm);
        return NULL;
    }
    PyObject *entry = PyDict_GetItemWithError(known, norm); /* borrowed */
    int suspect = 0;
    if (entry == NULL && !PyErr_Occurred()) {
        suspect = is_suspect(norm, guesses, guess_key, suspects);
        if (!suspect) {
            entry = english_value(norm, resolver);
        }
    }
    Py_DECREF(norm);
    if (PyErr_Occurred() || suspect || entry == Py_None) {
        return NULL;
    }
    if (entry != NULL) {
        value = entry;
    }
    if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 2) {
        PyErr_SetString(PyExc_TypeError, "resolver values must be (group, classes) pairs");
        return NULL;
    }
    PyObject *group = PyTuple_GET_ITEM(value, 0);
    PyObject *classes = PyTuple_GET_ITEM(value, 1);
    /* A word of no term's classes (FILLER) is never part of a phrase, so nothing reads its
     * classes: only the other words go into the class memo (as ResolvedWords.fill does). */
    PyObject *filler_classes = PyTuple_GET_ITEM(PyTuple_GET_ITEM(resolver, 5), 1);
    if (PyDict_SetItem(memo, word, group) < 0
        || (classes != filler_classes && PyDict_SetItem(class_memo, word, classes) < 0)) {
        return NULL;
    }
    return group;
}

static int
check_resolver(PyObject *resolver)
{
    if (resolver == Py_None) {
        return 0;
    }
    if (!PyTuple_Check(resolver) || PyTuple_GET_SIZE(resolver) != 10
        || !PyDict_Check(PyTuple_GET_ITEM(resolver, 0))
        || !PyDict_Check(PyTuple_GET_ITEM(resolver, 1))
        || !PyDict_Check(PyTuple_GET_ITEM(resolver, 2))
        || !PyLong_Check(PyTuple_GET_ITEM(resolver, 3))
        || PyLong_AsSsize_t(PyTuple_GET_ITEM(resolver, 3)) < 1
        || !PyTuple_Check(PyTuple_GET_ITEM(resolver, 4))
        || !PyAnySet_Check(PyTuple_GET_ITEM(resolver, 6))
        || !PyLong_Check(PyTuple_GET_ITEM(resolver, 7))
        || PyLong_AsSsize_t(PyTuple_GET_ITEM(resolver, 7)) < 1
        || !PyCallable_Check(PyTuple_GET_ITEM(resolver, 8))
        || !PyDict_Check(PyTuple_GET_ITEM(resolver, 9))) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError,
                        "resolver must be None or (class memo, known, guesses, guess key "
                        "length, suspects, filler, stem keys, stem key length, stemmer, "
                        "stem values): see bot/rules/scanner.py");
        return -1;
    }
    PyObject *suspects = PyTuple_GET_ITEM(resolver, 4);
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(suspects); k++) {
        PyObject *pair = PyTuple_GET_ITEM(suspects, k);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2
            || !PyLong_Check(PyTuple_GET_ITEM(pair, 0))
            || !PyAnySet_Check(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "suspects must be (length, set) pairs");
            return -1;
        }
    }
    return 0;
}

/* scan(text, table, memo, resolver) -> (words, groups, spans, tokens)
 *
 * words: the words of text in order; groups: memo.get(word) for each, or the group
 * resolve_new() finds when resolver is not None, else None;
 * spans: bytes of native int32 pairs, word i being text[spans[2i]:spans[2i + 1]];
 * tokens: "".join(groups) when no group is None, else None.
 */
static PyObject *
scan(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "scan(text, table, memo, resolver) takes 4 arguments");
        return NULL;
    }
    PyObject *text = args[0], *table_obj = args[1], *memo = args[2], *resolver = args[3];
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be a str");
        return NULL;
    }
    if (!PyBytes_Check(table_obj) || PyBytes_GET_SIZE(table_obj) != TABLE_SIZE) {
        PyErr_SetString(PyExc_ValueError, "table must be bytes of length 65536");
        return NULL;
    }
    if (!PyDict_Check(memo)) {
        PyErr_SetString(PyExc_TypeError, "memo must be a dict");
        return NULL;
    }
    if (check_resolver(resolver) < 0) {
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
#endif
    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (length > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "text too long");
        return NULL;
    }
    const unsigned char *table = (const unsigned char *)PyBytes_AS_STRING(table_obj);
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    int complete = 1;
    Buffer spans = {NULL, 0, 0}, tokens = {NULL, 0, 0};
    PyObject *result = NULL, *spans_obj = NULL, *tokens_obj = NULL;
    PyObject *words = PyList_New(0), *groups = PyList_New(0);
    if (words == NULL || groups == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < length;) {
        if (char_class(table, PyUnicode_READ(kind, data, i)) != LETTER) {
            i++;
            continue;
        }
        const Py_ssize_t start = i;
        i = word_end(table, kind, data, length, i);
        if (reserve(&spans, 2, sizeof(int32_t)) < 0) {
            goto done;
        }
        ((int32_t *)spans.data)[spans.used++] = (int32_t)start;
        ((int32_t *)spans.data)[spans.used++] = (int32_t)i;
        PyObject *word = PyUnicode_Substring(text, start, i);
        if (word == NULL) {
            goto done;
        }
        int failed = PyList_Append(words, word);
        PyObject *group = failed ? NULL : PyDict_GetItemWithError(memo, word); /* borrowed */
        if (group == NULL && !failed && !PyErr_Occurred() && resolver != Py_None) {
            group = resolve_new(word, memo, resolver);
        }
        Py_DECREF(word); /* the list (and the memo) keep it alive, with group */
        if (failed || (group == NULL && PyErr_Occurred())) {
            goto done;
        }
        if (group == NULL) {
            group = Py_None;
            complete = 0;
        }
        else if (complete && append_code(&tokens, group) < 0) {
            goto done;
        }
        if (PyList_Append(groups, group) < 0) {
            goto done;
        }
    }
    spans_obj = PyBytes_FromStringAndSize(
        spans.data ? (const char *)spans.data : "", spans.used * (Py_ssize_t)sizeof(int32_t));
    if (spans_obj == NULL) {
        goto done;
    }
    if (complete) {
        tokens_obj = PyUnicode_FromKindAndData(
            PyUnicode_4BYTE_KIND, tokens.data ? tokens.data : (void *)"\0\0\0", tokens.used);
    }
    else {
        tokens_obj = Py_NewRef(Py_None);
    }
    if (tokens_obj != NULL) {
        result = PyTuple_Pack(4, words, groups, spans_obj, tokens_obj);
    }

done:
    PyMem_Free(spans.data);
    PyMem_Free(tokens.data);
    Py_XDECREF(words);
    Py_XDECREF(groups);
    Py_XDECREF(spans_obj);
    Py_XDECREF(tokens_obj);
    return result;
}

/* The start of word `first` and the end of word `last`, from scan()'s spans. */
static int
span_of(const int32_t *spans, Py_ssize_t words, Py_ssize_t first, Py_ssize_t last,
        PyObject **start, PyObject **stop)
{
    if (first < 0 || last < first || last >= words) {
        PyErr_SetString(PyExc_IndexError, "a match lies outside the words");
        return -1;
    }
    *start = PyLong_FromLong(spans[2 * first]);
    *stop = *start ? PyLong_FromLong(spans[2 * last + 1]) : NULL;
    if (*stop == NULL) {
        Py_XDECREF(*start);
        return -1;
    }
    return 0;
}

/* Appends (start, term_id, framing_id, stop) to hits for each (term_id, framing_id) owner. */
static int
add_hits(PyObject *hits, PyObject *owners, PyObject *start, PyObject *stop)
{
    if (!PyTuple_Check(owners)) {
        PyErr_SetString(PyExc_TypeError, "owners must be a tuple");
        return -1;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(owners); k++) {
        PyObject *owner = PyTuple_GET_ITEM(owners, k);
        if (!PyTuple_Check(owner) || PyTuple_GET_SIZE(owner) != 2) {
            PyErr_SetString(PyExc_TypeError, "an owner must be a (term_id, framing_id) pair");
            return -1;
        }
        PyObject *hit = PyTuple_Pack(4, start, PyTuple_GET_ITEM(owner, 0),
                                     PyTuple_GET_ITEM(owner, 1), stop);
        const int failed = hit == NULL || PyList_Append(hits, hit) < 0;
        Py_XDECREF(hit);
        if (failed) {
            return -1;
        }
    }
    return 0;
}

/* Whether the word satisfies the class character: char in its classes, read from the class
 * memo, or from fallback(word) when the memo lacks it (another thread may have cleared it).
 */
static int
has_class(PyObject *word, PyObject *char_obj, PyObject *class_memo, PyObject *fallback)
{
    if (!PyUnicode_Check(char_obj) || PyUnicode_GET_LENGTH(char_obj) != 1) {
        PyErr_SetString(PyExc_TypeError, "a class character must be a str of length 1");
        return -1;
    }
    PyObject *classes = PyDict_GetItemWithError(class_memo, word); /* borrowed */
    if (classes != NULL) {
        Py_INCREF(classes);
    }
    else if (PyErr_Occurred() || (classes = PyObject_CallOneArg(fallback, word)) == NULL) {
        return -1;
    }
    int found = -1;
    if (!PyUnicode_Check(classes)) {
        PyErr_SetString(PyExc_TypeError, "a word's classes must be a str");
    }
    else {
        const Py_ssize_t at = PyUnicode_FindChar(classes, PyUnicode_READ_CHAR(char_obj, 0), 0,
                                                 PyUnicode_GET_LENGTH(classes), 1);
        found = at >= 0 ? 1 : (at == -1 ? 0 : -1);
    }
    Py_DECREF(classes);
    return found;
}

/* Appends (pid, first, last) to tracked. */
static int
track(PyObject *tracked, PyObject *pid, Py_ssize_t first, Py_ssize_t last)
{
    PyObject *item = Py_BuildValue("(Onn)", pid, first, last);
    const int failed = item == NULL || PyList_Append(tracked, item) < 0;
    Py_XDECREF(item);
    return failed ? -1 : 0;
}

/* The phrases of a match that need a check: for each (check, more, tracked pid) whose check
 * passes (each (offset, class character) satisfied by the word at first + offset), the hits of
 * its `more` owners, and (tracked pid, first, last) when the pid is not -1.
 */
static int
checked_hits(PyObject *checked, PyObject *words, Py_ssize_t first, PyObject *start,
             PyObject *stop, PyObject *class_memo, PyObject *fallback, PyObject *hits,
             PyObject *tracked, Py_ssize_t last)
{
    if (!PyTuple_Check(checked)) {
        PyErr_SetString(PyExc_TypeError, "checked phrases must be a tuple");
        return -1;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(checked); k++) {
        PyObject *entry = PyTuple_GET_ITEM(checked, k);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3
            || !PyTuple_Check(PyTuple_GET_ITEM(entry, 0))) {
            PyErr_SetString(PyExc_TypeError, "a checked phrase must be (check, more, pid)");
            return -1;
        }
        PyObject *check = PyTuple_GET_ITEM(entry, 0);
        int passed = 1;
        for (Py_ssize_t c = 0; passed == 1 && c < PyTuple_GET_SIZE(check); c++) {
            PyObject *pair = PyTuple_GET_ITEM(check, c);
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
                PyErr_SetString(PyExc_TypeError, "a check must be (offset, class character)");
                return -1;
            }
            const Py_ssize_t index = first + PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 0));
            if (PyErr_Occurred()) {
                return -1;
            }
            if (index < 0 || index >= PyList_GET_SIZE(words)) {
                PyErr_SetString(PyExc_IndexError, "a check lies outside the words");
                return -1;
            }
            passed = has_class(PyList_GET_ITEM(words, index), PyTuple_GET_ITEM(pair, 1),
                               class_memo, fallback);
        }
        if (passed < 0) {
            return -1;
        }
        if (passed == 0) {
            continue;
        }
        PyObject *pid = PyTuple_GET_ITEM(entry, 2);
        const long pid_value = PyLong_AsLong(pid);
        if ((pid_value == -1 && PyErr_Occurred())
            || add_hits(hits, PyTuple_GET_ITEM(entry, 1), start, stop) < 0
            || (pid_value >= 0 && track(tracked, pid, first, last) < 0)) {
            return -1;
        }
    }
    return 0;
}

/* The extra work of a match (see scanner.python_collect): its plain tracked phrases, its
 * checked phrases, and whether its hits may repeat others. */
static int
extra_hits(PyObject *extra, PyObject *words, Py_ssize_t first, Py_ssize_t last,
           PyObject *start, PyObject *stop, PyObject *class_memo, PyObject *fallback,
           PyObject *hits, PyObject *tracked, int *may_repeat)
{
    if (!PyTuple_Check(extra) || PyTuple_GET_SIZE(extra) != 3
        || !PyTuple_Check(PyTuple_GET_ITEM(extra, 0))) {
        PyErr_SetString(PyExc_TypeError, "extra must be (plain tracked, checked, repeats)");
        return -1;
    }
    PyObject *plain_tracked = PyTuple_GET_ITEM(extra, 0);
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(plain_tracked); k++) {
        if (track(tracked, PyTuple_GET_ITEM(plain_tracked, k), first, last) < 0) {
            return -1;
        }
    }
    const int repeats = PyObject_IsTrue(PyTuple_GET_ITEM(extra, 2));
    if (repeats < 0) {
        return -1;
    }
    *may_repeat |= repeats;
    return checked_hits(PyTuple_GET_ITEM(extra, 1), words, first, start, stop, class_memo,
                        fallback, hits, tracked, last);
}

/* The hits of one phrase match: words first..last, value (length, _, _, owners, extra). */
static int
match_hits(PyObject *value, Py_ssize_t first, Py_ssize_t last, const int32_t *spans,
           Py_ssize_t count, PyObject *hits, PyObject *words, PyObject *class_memo,
           PyObject *fallback, PyObject *tracked, int *may_repeat)
{
    if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) < 5) {
        PyErr_SetString(PyExc_TypeError, "a value must be (length, _, _, owners, extra)");
        return -1;
    }
    PyObject *start = NULL, *stop = NULL, *extra = PyTuple_GET_ITEM(value, 4);
    int failed = span_of(spans, count, first, last, &start, &stop) < 0
                 || add_hits(hits, PyTuple_GET_ITEM(value, 3), start, stop) < 0;
    if (!failed && extra != Py_None) {
        failed = extra_hits(extra, words, first, last, start, stop, class_memo, fallback, hits,
                            tracked, may_repeat) < 0;
    }
    Py_XDECREF(start);
    Py_XDECREF(stop);
    return failed ? -1 : 0;
}

/* The children and value of a code trie entry, (children or None, value or None). */
static int
unpack_entry(PyObject *entry, PyObject **children, PyObject **value)
{
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2) {
        PyErr_SetString(PyExc_TypeError, "a code trie entry must be (children, value)");
        return -1;
    }
    *children = PyTuple_GET_ITEM(entry, 0);
    *value = PyTuple_GET_ITEM(entry, 1);
    if (*children != Py_None && !PyDict_Check(*children)) {
        PyErr_SetString(PyExc_TypeError, "a code trie node must be a dict or None");
        return -1;
    }
    return 0;
}

/* walk(groups, codes, spans, hits, words, class_memo, fallback) -> (tracked, may_repeat)
 *
 * The C version of scanner.py:python_walk (the reference): from every word, follows the code
 * trie (bot/rules/search.py) along the words' group codes; every phrase found gives its hits,
 * appended to hits, and the occurrences that boolean and NEAR terms look at are returned,
 * with whether a hit may have been added twice.
 */
static PyObject *
walk(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "walk(groups, codes, spans, hits, words, class_memo, fallback)");
        return NULL;
    }
    PyObject *groups = args[0], *codes = args[1], *spans_obj = args[2], *hits = args[3];
    PyObject *words = args[4], *class_memo = args[5], *fallback = args[6];
    if (!PyList_Check(groups) || !PyDict_Check(codes) || !PyBytes_Check(spans_obj)
        || !PyList_Check(hits) || !PyList_Check(words) || !PyDict_Check(class_memo)
        || !PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError,
                        "groups, hits and words must be lists, codes and class_memo dicts, "
                        "spans bytes and fallback callable");
        return NULL;
    }
    const int32_t *spans = (const int32_t *)PyBytes_AS_STRING(spans_obj);
    const Py_ssize_t count = PyBytes_GET_SIZE(spans_obj) / (Py_ssize_t)(2 * sizeof(int32_t));
    const Py_ssize_t length = PyList_GET_SIZE(groups);
    if (length > count || PyList_GET_SIZE(words) < length) {
        PyErr_SetString(PyExc_ValueError, "groups, words and spans disagree");
        return NULL;
    }
    PyObject *tracked = PyList_New(0);
    int may_repeat = 0;
    if (tracked == NULL) {
        return NULL;
    }
    for (Py_ssize_t first = 0; first < length; first++) {
        PyObject *node = codes;
        for (Py_ssize_t last = first; node != Py_None && last < length; last++) {
            PyObject *entry = PyDict_GetItemWithError(node, PyList_GET_ITEM(groups, last));
            PyObject *value;
            if (entry == NULL) {
                if (PyErr_Occurred()) {
                    goto error;
                }
                break;
            }
            if (unpack_entry(entry, &node, &value) < 0
                || (value != Py_None
                    && match_hits(value, first, last, spans, count, hits, words, class_memo,
                                  fallback, tracked, &may_repeat) < 0)) {
                goto error;
            }
        }
    }
    return Py_BuildValue("(NO)", tracked, may_repeat ? Py_True : Py_False);

error:
    Py_DECREF(tracked);
    return NULL;
}

/* language(text) -> "ru", "uk" or "other": the C version of
 * bot/rules/normalize.py:cyrillic_language (the reference), in one pass over the text.
 */
#define LETTERS_FOR_RUSSIAN_DEFAULT 20

static PyObject *
language(PyObject *Py_UNUSED(module), PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be a str");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
#endif
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t russian = 0, ukrainian = 0, cyrillic = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        const Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch < 0x0400 || ch > 0x04FF) {
            continue;
        }
        cyrillic++;
        switch (ch) {
        case 0x044B: case 0x044D: case 0x044A: case 0x0451: /* ы э ъ ё */
        case 0x042B: case 0x042D: case 0x042A: case 0x0401: /* Ы Э Ъ Ё */
            russian++;
            break;
        case 0x0456: case 0x0457: case 0x0454: case 0x0491: /* і ї є ґ */
        case 0x0406: case 0x0407: case 0x0404: case 0x0490: /* І Ї Є Ґ */
            ukrainian++;
            break;
        default:
            break;
        }
    }
    const char *found = "other";
    if (russian > ukrainian
        || (ukrainian == 0 && cyrillic >= LETTERS_FOR_RUSSIAN_DEFAULT)) {
        found = "ru";
    }
    else if (ukrainian > russian) {
        found = "uk";
    }
    return PyUnicode_InternFromString(found);
}

/* as_hits(raw, hit_type) -> list: the C version of scanner.py:python_as_hits (the
 * reference). Each raw (start, term_id, framing_id, stop) becomes hit_type(term_id,
 * framing_id, start, stop); hit_type is a tuple subclass (a NamedTuple), created the way
 * tuple.__new__(hit_type, items) creates it.
 */
static PyObject *
as_hits(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    static const int order[4] = {1, 2, 0, 3};
    if (nargs != 2 || !PyList_Check(args[0]) || !PyType_Check(args[1])
        || !PyType_IsSubtype((PyTypeObject *)args[1], &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "as_hits(raw: list, hit_type: tuple subclass)");
        return NULL;
    }
    PyObject *raw = args[0];
    PyTypeObject *hit_type = (PyTypeObject *)args[1];
    const Py_ssize_t count = PyList_GET_SIZE(raw);
    PyObject *hits = PyList_New(count);
    if (hits == NULL) {
        return NULL;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PyList_GET_ITEM(raw, k);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4) {
            PyErr_SetString(PyExc_TypeError, "a raw hit must be (start, term_id, framing_id, stop)");
            Py_DECREF(hits);
            return NULL;
        }
        PyObject *hit = hit_type->tp_alloc(hit_type, 4);
        if (hit == NULL) {
            Py_DECREF(hits);
            return NULL;
        }
        for (int field = 0; field < 4; field++) {
            PyTuple_SET_ITEM(hit, field, Py_NewRef(PyTuple_GET_ITEM(item, order[field])));
        }
        PyList_SET_ITEM(hits, k, hit);
    }
    return hits;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL,
     "scan(text, table, memo, resolver) -> (words, groups, spans, tokens)"},
    {"language", language, METH_O, "language(text) -> 'ru', 'uk' or 'other'"},
    {"as_hits", (PyCFunction)(void (*)(void))as_hits, METH_FASTCALL,
     "as_hits(raw, hit_type) -> list"},
    {"walk", (PyCFunction)(void (*)(void))walk, METH_FASTCALL,
     "walk(groups, codes, spans, hits, words, class_memo, fallback) -> (tracked, may_repeat)"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bot.rules._scan",
    .m_doc = "The words of a post and their memoised group codes (see scanner.py).",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    return PyModuleDef_Init(&module);
}
