"""The session timeout warning: shown before the idle timeout, and "Stay signed in" keeps the session."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_axe_violations, make_user, sign_in

pytestmark = pytest.mark.browser


def test_warning_appears_two_minutes_before_the_idle_timeout_and_keeps_the_session(
    app, page, live_server
):
    make_user(app, "amina@example.org")
    page.clock.install()
    sign_in(page, "amina@example.org")
    page.goto(f"{live_server}/en/account")
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_hidden()

    # 30 minutes idle by default: the warning shows at 28.
    page.clock.run_for("28:01")
    expect(warning).to_be_visible()
    expect(page.get_by_role("button", name="Stay signed in")).to_be_focused()
    assert_no_axe_violations(page)

    with page.expect_response(lambda response: "/session/keep-alive" in response.url) as answer:
        page.get_by_role("button", name="Stay signed in").click()
    assert answer.value.status == 204
    expect(warning).to_be_hidden()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
