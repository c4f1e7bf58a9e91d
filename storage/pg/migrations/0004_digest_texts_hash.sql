-- digest_texts.messages holds a whole digest: several messages of up to 4096 characters,
-- more than a B-tree index entry may hold (about 2.7 kB; PostgreSQL refused such a digest
-- with "index row requires ... bytes"), where SQLite's UNIQUE has no such limit. The same
-- rule on the text's SHA-256 instead: INSERT ... ON CONFLICT DO NOTHING conflicts on any
-- unique index, so storage/subscribers.py writes one statement for both databases.
-- convert_to is only STABLE because an encoding name could mean another encoding; the
-- database's own (UTF8) cannot change, so the key is IMMUTABLE as an index needs.
CREATE FUNCTION fw_text_sha256(t TEXT) RETURNS BYTEA LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(convert_to(t, 'UTF8'))
$$;
ALTER TABLE digest_texts DROP CONSTRAINT digest_texts_messages_key;
CREATE UNIQUE INDEX digest_texts_messages_sha256 ON digest_texts (fw_text_sha256(messages));
