"""`python -m bot` is the same as `framewatch`."""

if __name__ == "__main__":  # not when a worker process (bot/scan_pool.py) imports it
    # Imported here, not above: a spawned worker that imports this module as __mp_main__
    # then imports nothing of the command line.
    import sys

    from bot.cli import main

    sys.exit(main())
