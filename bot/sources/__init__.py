"""Sources of posts besides the Bot API: public web previews (t.me/s) and Telegram exports.

Every source builds storage.models.IncomingPost and stores it through bot.ingest.store_post.
"""
