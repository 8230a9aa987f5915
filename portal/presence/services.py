"""Presence's door for the other capabilities' pages (the applicant's status page asks for a new
link to prove presence): what they may use is in `__all__`, published from the module that holds
it; tests/unit/test_published_interfaces.py keeps it so.
"""

from __future__ import annotations

from portal.presence.links import LinkAnswer, can_ask, send_new_link

__all__ = ["LinkAnswer", "can_ask", "send_new_link"]
