"""Extra `framewatch` subcommands, one module each, discovered by bot.cli.

A module defines `add_to(sub)`, adding its parsers to the subparsers object and setting
`handler=<async def (settings, args) -> int>` on each with `set_defaults`. Use
`bot.cli.with_services(path, work, settings)` to open the database.
"""
