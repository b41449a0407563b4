"""``python -m simulator.cli``: the ``sdsim`` command."""

from .edge import main

main()
