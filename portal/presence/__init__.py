"""Proving presence in France: where a phone says it is, checked against the territory."""
