"""web/body.py: reflow, links and quotes back in place, on text made to break them."""

from __future__ import annotations

from search.views import first_line
from web import body


def test_hard_wrapped_prose_is_joined_code_and_tables_are_not() -> None:
    prose = ("The Tunis Agenda asks for enhanced cooperation among governments, on an\n"
             "equal footing, in their roles and responsibilities.")
    table = "| year | messages |\n| 2010 | 3,000    |"
    code = "    for x in range(3):\n        print(x)"
    short = "Parminder\nIT for Change"
    html = str(body.reflow("\n\n".join([prose, table, code, short])))
    assert ('<p class="para">The Tunis Agenda asks for enhanced cooperation among governments, '
            'on an equal footing, in their roles and responsibilities.</p>') in html
    assert html.count('class="para pre"') == 3
    assert "| year | messages |\n| 2010" in html and "Parminder\nIT for Change" in html


def test_links_are_escaped_and_only_http() -> None:
    html = str(body.linkify('see <https://example.org/a?b=1&c=2> or javascript:alert(1) '
                            'and www.icann.example.'))
    assert ('&lt;<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">'
            'https://example.org/a?b=1&amp;c=2</a>&gt;') in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert "www.icann.example." in html and "<script" not in html  # no scheme: not linked
    assert str(body.linkify("<b>no url</b>")) == "&lt;b&gt;no url&lt;/b&gt;"


def test_quotes_go_where_they_stood_nested_inside_unplaced_after() -> None:
    own = "Agreed.\n\nNo."
    quotes = [
        {"text": "one", "depth": 1, "at": 0},
        {"text": "inner", "depth": 2},
        {"text": "two", "depth": 1, "at": own.index("No.")},
        {"text": "lost", "depth": 1, "at": -1},
        {"text": "bad", "depth": 1, "at": 10_000},
    ]
    segments = body.segments(own, quotes)
    shape = [("Q " + s.quote.text) if s.quote else s.text.strip() for s in segments]
    assert shape == ["Q one", "Agreed.", "Q two", "No.", "Q lost", "Q bad"]
    assert [c.text for c in segments[0].quote.children] == ["inner"]
    # No 'at' anywhere: the old layout, own words then every quote.
    old = body.segments(own, [{"text": "one", "depth": 1}, {"text": "two", "depth": 1}])
    assert [s.quote.text if s.quote else "own" for s in old] == ["own", "one", "two"]


def test_first_line_skips_greetings() -> None:
    assert first_line("Hi all,\n\nThe mandate ends.") == "The mandate ends."
    assert first_line("Dear Milton,\nColleagues:\nNo. It means otherwise.") == \
        "No. It means otherwise."
    assert first_line("Agreed, but the IGF takes no decisions.") == \
        "Agreed, but the IGF takes no decisions."
    assert first_line("Hi all,") == "Hi all,"


def test_a_quote_one_liner_skips_the_greeting() -> None:
    node = body.QuoteNode({"text": "Hi all,\n\nSee the travel support page for details.",
                           "depth": 1})
    assert node.summary == "See the travel support page for details."
