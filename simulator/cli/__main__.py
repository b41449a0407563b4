"""``python -m simulator.cli``: the ``sdsim`` command."""

from . import main

main()
