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


def mark(text: str, word: str, href: str = "/search?q=x") -> body.Mark:
    start = text.index(word)
    return body.Mark(start, start + len(word), href, f"search {word}")


def test_marks_survive_obfuscation_and_reflow_that_move_their_offsets() -> None:
    text = ("Write to ana@lists.example about para 76 of the Tunis Agenda, which the\n"
            "ITU reads its own way.\n\nAnd the <IGF> & more.")
    marks = [mark(text, "para 76"), mark(text, "Tunis Agenda"), mark(text, "ITU"),
             mark(text, "IGF", "/search?q=mentions%3Aigf&x=<1>")]
    html = str(body.reflow(text, lambda t: t.replace("@", " at "), marks))
    assert "ana at lists.example about <a class=\"ref\" href=\"/search?q=x\" " \
           "title=\"search para 76\">para 76</a> of the" in html
    # The hard wrap joined, the mark on the next line still round "ITU".
    assert 'the <a class="ref" href="/search?q=x" title="search ITU">ITU</a> reads' in html
    # Mail and href both escaped.
    assert ('&lt;<a class="ref" href="/search?q=mentions%3Aigf&amp;x=&lt;1&gt;" '
            'title="search IGF">IGF</a>&gt; &amp; more') in html
    assert "\ue000" not in html and not any("\ue001" <= c <= "\uf8ff" for c in html)


def test_marks_that_cannot_be_drawn_are_left_out_not_misdrawn() -> None:
    url = "see https://www.rfc-editor.org/rfc/rfc7258 now"
    html = str(body.reflow(url, str, [mark(url, "rfc7258")]))
    assert 'class="ref"' not in html and 'href="https://www.rfc-editor.org/rfc/rfc7258"' in html
    # Cut by a paragraph break, overlapping, or out of range: not drawn, text intact.
    cut = "the Tunis\n\nAgenda says"
    assert 'class="ref"' not in str(body.reflow(cut, str, [mark(cut, "Tunis\n\nAgenda")]))
    both = "para 76 of TA"
    overlapping = [mark(both, "para 76"), body.Mark(5, 10, "/b", "b"), body.Mark(90, 99, "/c", "c")]
    html = str(body.reflow(both, str, overlapping))
    assert html.count('class="ref"') == 1 and "para 76</a> of TA" in html
    # A text holding the private-use characters the marks travel in is shown unmarked.
    odd = "para 76 \ue005 of TA"
    assert str(body.reflow(odd, str, [mark(odd, "para 76")])).count('class="ref"') == 0


def test_segments_hand_each_piece_its_own_marks() -> None:
    original = "First para 76.\nThen ITU."
    at = original.index("Then")
    marks = [mark(original, "para 76"), mark(original, "ITU")]
    pieces = body.segments(original, [{"depth": 1, "text": "quoted", "at": at}], marks)
    assert [(p.text, [(p.text[m.start:m.end]) for m in p.marks]) for p in pieces if p.text] == [
        ("First para 76.\n", ["para 76"]), ("Then ITU.", ["ITU"])]
