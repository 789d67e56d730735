"""`python -m bot`: start the bot, as `newsbot run` does."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
