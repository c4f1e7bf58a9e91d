"""`python -m bot` is the same as `framewatch`."""

import sys

from bot.cli import main

sys.exit(main())
