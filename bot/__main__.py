"""`python -m bot` is the same as `framewatch`."""

import sys

from bot.cli import main

if __name__ == "__main__":  # not when a worker process (bot/scan_pool.py) imports it
    sys.exit(main())
