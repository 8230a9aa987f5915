"""The eligibility questions as pages: one per page, kind refusals, no skipping."""

from __future__ import annotations

import pytest

from tests.apply_helpers import ELIGIBLE
from tests.helpers import check_page, submit


def test_all_yes_path_ends_on_you_can_apply(client):
    first = client.get("/en/eligibility")
    assert first.headers["Location"] == "/en/eligibility/in_france"
    for name, answer in ELIGIBLE.items():
        page = client.get(f"/en/eligibility/{name}")
        assert page.status_code == 200
        check_page(page, "en", "ltr")
        submit(client, f"/en/eligibility/{name}", {"answer": answer})
    assert client.get("/en/eligibility").headers["Location"] == "/en/eligibility/you-can-apply"
    assert "You can apply" in client.get("/en/eligibility/you-can-apply").text


@pytest.mark.parametrize(
    ("question", "answer", "says"),
    [
        ("in_france", "no", "You can only apply while you are in France."),
        ("age", "no", "People under 18 can only apply with their father or mother"),
        (
            "eea_national",
            "yes",
            "Citizens of EEA countries and Switzerland cannot use this scheme.",
        ),
        (
            "returned_from_uk",
            "yes",
            "People who have been sent back to France under this scheme cannot use it.",
        ),
        (
            "french_residence",
            "yes",
            "People who have permission to live in France cannot use this scheme.",
        ),
    ],
)
def test_a_no_ends_on_a_page_that_says_which_rule(client, question, answer, says):
    names = list(ELIGIBLE)
    for name in names[: names.index(question)]:
        submit(client, f"/en/eligibility/{name}", {"answer": ELIGIBLE[name]})
    response = submit(client, f"/en/eligibility/{question}", {"answer": answer})
    assert response.headers["Location"].startswith("/en/eligibility/cannot-apply/")
    page = client.get(response.headers["Location"])
    assert says in page.text
    assert "Where to get advice" in page.text
    check_page(page, "en", "ltr")
    assert f'href="/en/eligibility/{question}"' in page.text, "a way back to change the answer"


def test_under_18_with_a_parent_may_continue(client):
    submit(client, "/en/eligibility/in_france", {"answer": "yes"})
    response = submit(client, "/en/eligibility/age", {"answer": "with_parent"})
    assert response.headers["Location"] == "/en/eligibility"


def test_questions_cannot_be_skipped_by_url(client):
    assert client.get("/en/eligibility/protection_status").headers["Location"] == "/en/eligibility"
    assert client.get("/en/eligibility/you-can-apply").headers["Location"] == "/en/eligibility"
    assert client.get("/en/eligibility/no_such_question").status_code == 404


def test_no_answer_gets_a_translated_error_on_the_same_page(client):
    response = submit(client, "/ar/eligibility/in_france", {})
    assert response.status_code == 200
    check_page(response, "ar", "rtl")
    assert 'href="#answer"' in response.text


def test_answer_is_shown_again_when_going_back(client):
    submit(client, "/en/eligibility/in_france", {"answer": "yes"})
    page = client.get("/en/eligibility/in_france").text
    assert 'value="yes" checked' in page
