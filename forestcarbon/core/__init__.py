"""Core: the error tree, settings (program.toml), packaged parameter tables, writing files."""
