"""``python -m ildrad.cli``: the command line."""

from ildrad.cli import main

main()
