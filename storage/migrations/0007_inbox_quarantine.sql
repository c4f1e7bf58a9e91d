-- Poison updates are set aside instead of blocking the intake or vanishing.
-- A row is pending (processed_at and quarantined_at NULL), processed, or quarantined: it failed
-- to parse or be handled MAX_ATTEMPTS times (error says why) and waits for an admin to retry
-- it (quarantined_at back to NULL) or drop it (processed_at set, dropped_by says who).
ALTER TABLE inbox ADD COLUMN quarantined_at TEXT;
ALTER TABLE inbox ADD COLUMN dropped_by INTEGER;
CREATE INDEX inbox_quarantined ON inbox(update_id)
    WHERE quarantined_at IS NOT NULL AND processed_at IS NULL;
