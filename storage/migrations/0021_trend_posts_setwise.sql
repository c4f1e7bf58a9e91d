-- trend_posts rows of new matches are added by the code that inserts them, one set-wise
-- statement per batch (storage/trend_store.py add_trend_posts), not by a trigger per row:
-- the per-row trigger was 2.4 s of 3.2 s inserting 178,000 matches of 200,000 posts.
-- Every path that inserts matches calls it (storage/match_store.py, storage/matches.py,
-- storage/scan_claims.py). Deletes, verdicts and moved posts still keep trend_posts by
-- triggers (0010, 0015): those write few rows, and cascades reach them from anywhere.
DROP TRIGGER trend_posts_add;
