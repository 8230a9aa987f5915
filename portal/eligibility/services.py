"""Eligibility's door for the other capabilities' pages (the application pages start a draft only
for answers to the eligibility questions that pass): what they may use is in `__all__`,
published from the rules that hold it; tests/unit/test_published_interfaces.py keeps it so.
"""

from __future__ import annotations

from portal.eligibility.rules import is_eligible

__all__ = ["is_eligible"]
