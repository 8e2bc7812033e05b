"""Other projects' reply-parser fixtures (../shared/corpora/fixtures-external) through split_body.

Expected values are the upstream projects' own answers where they have one (talon's
"Hi. I am fine. / Thanks, / Alex"), plus what govmail adds: the quoted text and its author.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from index.body import split_body

pytestmark = pytest.mark.corpora


def _norm(text: str) -> str:
    return re.sub(r"\n{2,}", "\n", text).strip()


def _read(corpora: Path, rel: str) -> tuple[str, str]:
    path = corpora / "fixtures-external" / rel
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    data = path.read_bytes()
    if rel.endswith(".eml"):
        msg = message_from_bytes(data, policy=policy.default)
        part = msg.get_body(("plain",))
        return part.get_content(), "text/plain"
    kind = "text/html" if rel.endswith(".html") else "text/plain"
    return data.decode("utf-8"), kind


TALON_HTML = {
    "talon/html_replies__gmail.html": "Alexander L",
    "talon/html_replies__hotmail.html": "abc@example.com",
    "talon/html_replies__mail_ru.html": "Alexander L",
    "talon/html_replies__ms_outlook_2003.html": "Alexander L",
    "talon/html_replies__ms_outlook_2007.html": "Alexander L",
    "talon/html_replies__ms_outlook_2010.html": "baz@bar.com",
    "talon/html_replies__thunderbird.html": "Alexander L",
    "talon/html_replies__windows_mail.html": "Alexander L",
    "talon/html_replies__yandex_ru.html": "Alexander L",
}


@pytest.mark.parametrize(("rel", "author"), sorted(TALON_HTML.items()))
def test_talon_html_replies(shared_corpora: Path, rel: str, author: str) -> None:
    split = split_body(*_read(shared_corpora, rel))
    assert _norm(split.original_text) == "Hi. I am fine.\nThanks,\nAlex"
    assert [(q.author, q.depth) for q in split.quotes] == [(author, 1)]
    assert split.quotes[0].text.startswith("Hello! How are you?")
    assert split.signoff == "Alex"


def test_talon_thunderbird_cite_id(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "talon/html_replies__thunderbird.html"))
    assert split.quotes[0].message_id == "CA+jEWTKBU6qc4OnH5m=-0sfwkAzZhcy0rd+ean2W6bFUVXaO7A@mail.gmail.com"


@pytest.mark.parametrize(
    ("rel", "original", "author"),
    [
        ("talon/OLK_SRC_BODY_SECTION.html", "Reply", "Bob"),
        ("talon/reply-separated-by-hr.html", "Hi\nthere\nBob", "bob@example.com"),
        ("quotequail/apple_reply.html", "Foo\nBar", "John Doe"),
        ("quotequail/gmail_reply.html", "foo\nbar", "Foo Bar"),
        ("quotequail/outlook_forward.html", "Original message\nMore text", "John Doe"),
        ("quotequail/ios_mail_reply_unescaped_address.html", "Sounds good, I'll be there at 2.", "Jane Roe"),
        ("quotequail/yahoo_reply_unescaped_address.html",
         "Thanks Jane, that looks great. One question on item 2 - can we ship it before Friday?\nDan",
         "Jane Roe"),
        ("quotequail/thunderbird_forward.html", "", "John Doe"),
        ("quotequail/gmail_forward.html", "test\nblah", "Foo Bar"),
    ],
)
def test_html_clients(shared_corpora: Path, rel: str, original: str, author: str) -> None:
    split = split_body(*_read(shared_corpora, rel))
    assert _norm(split.original_text) == original
    assert split.quotes[0].author == author
    assert split.quotes[0].depth == 1


def test_gmail_signature_after_quote(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "quotequail/gmail_reply.html"))
    assert _norm(split.signature) == "--\nJohn Doe\nSenior Director\nSome Company"
    assert split.quotes[0].text == "Hi,\n\nThis is the reply\n\nThanks a lot!\nFoo"


def test_ios_phone_signature_above_quote(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "quotequail/ios_mail_reply_unescaped_address.html"))
    assert split.signature == "Sent from my iPhone"


@pytest.mark.parametrize(
    ("rel", "author"),
    [
        ("talon/standard_replies__android.eml", "bob@xxx.mailgun.org"),
        ("talon/standard_replies__apple_mail.eml", "bob"),
        ("talon/standard_replies__gmail.eml", "Megan One"),
        ("talon/standard_replies__iphone.eml", "bob"),
        ("talon/standard_replies__thunderbird.eml", "Megan One"),
        ("talon/standard_replies__yahoo.eml", "bob@xxx.mailgun.org"),
        ("talon/standard_replies__outlook.eml", "xxx@xxx.mailgun.org"),
    ],
)
def test_talon_plain_replies(shared_corpora: Path, rel: str, author: str) -> None:
    split = split_body(*_read(shared_corpora, rel))
    assert split.original_text == "Hello"
    assert split.quotes[0].author == author


def test_talon_iphone_signature(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "talon/standard_replies__iphone.eml"))
    assert split.signature == "Sent from my iPhone"


@pytest.mark.parametrize(
    ("name", "author"),
    [
        ("email_finnish", "John Coe"),
        ("email_portuguese", "John Doe - Stripe"),
        ("email_russian", "John Doe"),
        ("email_italian", "John Doe - Stripe"),
        ("email_german_outlook", "Max Mustermann"),
        ("email_french_2", "Chris - Crisp"),
        ("email_norwegian_gmail", "Test user"),
    ],
)
def test_crisp_languages(shared_corpora: Path, name: str, author: str) -> None:
    split = split_body(*_read(shared_corpora, f"crisp-email-reply-parser/{name}.txt"))
    assert split.original_text.startswith("Fusce bibendum")
    assert split.original_text.endswith("nec nibh.")
    assert split.quotes[0].author == author


def test_crisp_inline_reply(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "crisp-email-reply-parser/email_tricky_18_inline_reply.txt"))
    assert [(q.author, q.depth, q.text) for q in split.quotes] == [
        ("Jane Doe", 1, "What's your opinion on option A?"),
        ("Jane Doe", 1, "What about option B?"),
        ("Jane Doe", 1, "Should we go with option C?"),
    ]
    assert split.original_text.split("\n\n") == [
        "I think option A is great.",
        "Option B has some drawbacks.",
        "Option C is not suitable for our use case.",
    ]


def test_crisp_nested_quotes(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "crisp-email-reply-parser/email_tricky_9_nested_quotes.txt"))
    assert [(q.author, q.depth) for q in split.quotes] == [
        ("Jane Doe", 1), ("Bob Smith", 2), ("Alice Jones", 3), ("Charlie Brown", 4),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "email_tricky_1_on_false_positive",
        "email_tricky_4_from_in_body",
        "email_tricky_6_regards_in_sentence",
    ],
)
def test_crisp_false_positives(shared_corpora: Path, name: str) -> None:
    text, kind = _read(shared_corpora, f"crisp-email-reply-parser/{name}.txt")
    split = split_body(text, kind)
    assert split.quotes == ()
    assert split.signature == ""
    assert _norm(split.original_text) == _norm(text)


def test_zapier_interleaved_with_quoted_footer(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "zapier-email-reply-parser/email_1_2.txt"))
    assert split.original_text.startswith("Hi,\n\nYou can list the keys for the bucket")
    assert "would do it." in split.original_text
    assert "riak-users mailing list" not in split.original_text + split.quoted_text
    assert {q.author for q in split.quotes} == {"Abhishek Kona"}
    assert split.footer.startswith("_______________________________________________\nriak-users mailing list")


def test_zapier_sig_delimiter_in_sentence(shared_corpora: Path) -> None:
    text, kind = _read(shared_corpora, "zapier-email-reply-parser/email_sig_delimiter_in_middle_of_line.txt")
    split = split_body(text, kind)
    assert split.signature == ""
    assert "And here is a fix -- this is not a signature." in split.original_text


def test_zapier_correct_sig(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "zapier-email-reply-parser/correct_sig.txt"))
    assert split.original_text == "this is an email with a correct -- signature."
    assert split.signature == "--\nrick"


def test_mailman_footer_nl(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "mail-parser-reply/email_nl_1_1.txt"))
    assert split.original_text.endswith("-Maarten de Jong")
    assert split.footer.startswith("_______________________________________________\nriak-gebruikers mailing list")


def test_usenet_signature_with_phone(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "discourse-email_reply_trimmer/usenet.txt"))
    assert split.original_text == "Mal sehen was hier mit der Signatur passiert!"
    assert "+12 345 6789 012" in split.signature
    assert split.signoff == "John Doe"


def test_multiline_attribution_de(shared_corpora: Path) -> None:
    split = split_body(*_read(shared_corpora, "mail-parser-reply/multiline_on_de.txt"))
    assert [q.author for q in split.quotes[:1]] == ["John Doe"]


@pytest.mark.parametrize(
    ("name", "author"),
    [
        ("embedded_email_chinese", "Erlend Sogge Heggen"),
        ("embedded_email_french_1", "Neil Lalonde"),
        ("embedded_email_swedish", "Foo Bar"),
        ("forwarded_apple", "Foo Discourse"),
        ("forwarded_gmail", "Foo Discourse"),
        ("email_headers_1", "Outlook user"),
    ],
)
def test_discourse_attributions(shared_corpora: Path, name: str, author: str) -> None:
    text, kind = _read(shared_corpora, f"discourse-email_reply_trimmer/{name}.txt")
    trimmed = (shared_corpora / "fixtures-external" / "discourse-email_reply_trimmer" / f"{name}.trimmed.txt")
    split = split_body(text, kind)
    assert split.quotes[0].author == author
    # Upstream's trimmed reply is the start of our original text.
    assert _norm(split.original_text).startswith(_norm(trimmed.read_text(encoding="utf-8"))[:40])


def test_every_fixture_splits_without_error(shared_corpora: Path) -> None:
    root = shared_corpora / "fixtures-external"
    count = 0
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".txt", ".html", ".eml") or path.parent.name == "LICENSES":
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        kind = "text/html" if path.suffix == ".html" else "text/plain"
        split = split_body(text, kind)
        assert isinstance(split.original_text, str)
        count += 1
    assert count >= 100
