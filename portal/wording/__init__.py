"""Honest translations: the notice on pages whose words no fluent reader has checked, and the
readers' reports on a page's words, which admins read by language and page."""
