"""Command line (argument parsing only): ``forestcarbon COMMAND``."""

from forestcarbon.cli.main import main

__all__ = ["main"]
