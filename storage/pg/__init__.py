"""PostgreSQL beside SQLite (issue 12), first step: the schema (migrations/), its runner
(migrate.py), connecting with clear errors (connect.py) and copying a whole database either
way (copy*.py, `framewatch copy-db`). The repositories and the bot still run on SQLite only."""
