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
