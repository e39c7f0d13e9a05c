"""Generators of the bundled synthetic sample program (not imported by the library)."""
