"""Kit-only (no services): which names are secret and how values leave error text."""

from __future__ import annotations

import pytest

from app.observability.redaction import FILTERED, redact_text, sensitive_name


@pytest.mark.parametrize(
    "name",
    ["Authorization", "X-CSRF-Token", "x_session_token", "Cookie", "Set-Cookie", "X-Forwarded-For", "Forwarded",
     "X-Api-Key", "email", "user_email", "sig", "signature", "client_secret", "PASSWORD", "X-Real-IP"],
)  # fmt: skip
def test_secret_names_match_whatever_the_spelling(name):
    assert sensitive_name(name)


@pytest.mark.parametrize("name", ["content-type", "user-agent", "x-request-id", "traceparent", "page", "limit"])
def test_ordinary_names_stay_readable(name):
    assert not sensitive_name(name)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('duplicate key value violates unique constraint "users_email_key"\n'
         "DETAIL:  Key (email)=(alice@example.com) already exists.", "alice@example.com"),
        ("invalid input for query argument $1: 'bob@x.org' ('str' object cannot be interpreted as an integer)",
         "bob@x.org"),
        ('invalid input syntax for type integer: "12ab-secret"', "12ab-secret"),
        ("[SQL: INSERT INTO users (email) VALUES ($1)]\n[parameters: ('carol@y.net',)]", "carol@y.net"),
        ('HTTP Request: GET http://h/p?token=s3cr3t&page=2 "HTTP/1.1 200 OK"', "s3cr3t"),
        ("mail dave@example.com about it", "dave@example.com"),
    ],
)  # fmt: skip
def test_values_are_cut_out_and_the_explanation_stays(text, value):
    out = redact_text(text)
    assert value not in out and FILTERED in out
    kept = out.split(FILTERED)[0]  # everything before the first cut is the original text
    assert text.startswith(kept) and len(kept) >= 4


def test_text_without_values_is_unchanged():
    text = 'Started server process [42]\nGET /api/v1/items?page=2 "HTTP/1.1 200 OK"'
    assert redact_text(text) == text
