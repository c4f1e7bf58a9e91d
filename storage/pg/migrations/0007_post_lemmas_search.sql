-- Search by meaning on PostgreSQL (issue 12, storage/search.py): one tsvector for both
-- columns of post_lemmas, the forms weighted A and the lemma keys B, so that one tsquery
-- (bot/search_query.py render_tsquery) asks for `'x':A` where FTS5 asks `forms : x` and
-- for `'x':B` where it asks `lemmas : x`, in any mix of AND, OR, NOT and phrases, on one
-- GIN index. A phrase's words all carry one weight, and the lemma keys' positions follow
-- the forms', so a phrase never spans the two columns. Replaces 0001's two vectors.
ALTER TABLE post_lemmas DROP COLUMN forms_tsv, DROP COLUMN lemmas_tsv;
ALTER TABLE post_lemmas ADD COLUMN search_tsv TSVECTOR GENERATED ALWAYS AS
    (setweight(fw_tokens(forms), 'A') || setweight(fw_tokens(lemmas), 'B')) STORED;
CREATE INDEX post_lemmas_search ON post_lemmas USING GIN (search_tsv);

-- posts.search_tsv read the text with PostgreSQL's parser, which FTS5's unicode61 does not
-- follow: it keeps "из-под" whole beside its parts (shifting the positions after it, so
-- phrases across it fail), and URLs, e-mail addresses and numbers like 3.5 as single tokens.
-- fw_words makes every run of characters other than letters and digits a space first, so
-- the parser sees plain words only, as unicode61 splits them (search for posts not yet
-- lemma-indexed finds the same posts on both). Needs a UTF-8 locale, as lower() does.
CREATE FUNCTION fw_words(t TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(fw_fold(t), '[^[:alnum:]]+', ' ', 'g')
$$;
ALTER TABLE posts DROP COLUMN search_tsv;
ALTER TABLE posts ADD COLUMN search_tsv TSVECTOR GENERATED ALWAYS AS
    (to_tsvector('simple', fw_words(text))) STORED;
CREATE INDEX posts_search ON posts USING GIN (search_tsv);
