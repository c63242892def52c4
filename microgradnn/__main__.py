"""``python -m microgradnn``: the same command line as the ``microgradnn`` script."""

from microgradnn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
