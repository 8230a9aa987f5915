"""The checking queue's door for the other capabilities' pages (the health page): what they may
use is in `__all__`, published from the module that holds it; tests/unit/test_published_interfaces.py
keeps it so.
"""

from __future__ import annotations

from portal.queue.backends import checking_queue

__all__ = ["checking_queue"]
