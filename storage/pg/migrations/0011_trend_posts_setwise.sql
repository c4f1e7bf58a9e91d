-- The twin of SQLite's 0021: trend_posts rows of new matches are added by the code that
-- inserts them (storage/trend_store.py add_trend_posts), so both databases keep the table
-- the same way. The other trend_posts triggers (0002) stay.
DROP TRIGGER trend_posts_add ON matches;
DROP FUNCTION fw_trend_posts_add();
