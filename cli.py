"""Run the sdsim command line from a checkout: ``python cli.py run scenarios/theory/mm1.yaml``."""

from simulator.cli import main

if __name__ == "__main__":
    main()
