"""Forestry officers' records: the record store with history, register roll-forward, plans."""
