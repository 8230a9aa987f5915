"""Assisted digital: support workers of approved organisations help applicants apply."""
