-- Details every source can give about a post (all optional): shown in exports and search.
ALTER TABLE posts ADD COLUMN views INTEGER;
ALTER TABLE posts ADD COLUMN author TEXT;           -- author signature
ALTER TABLE posts ADD COLUMN forwarded_from TEXT;   -- name of the original chat or person
ALTER TABLE posts ADD COLUMN forwarded_link TEXT;   -- t.me link of the original, if known
ALTER TABLE posts ADD COLUMN reply_to INTEGER;      -- message id this post replies to
ALTER TABLE posts ADD COLUMN media TEXT;            -- photo, video, document, ... or NULL
