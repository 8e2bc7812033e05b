"""html_blocks: text, paragraphs and quote depth read from real clients' markup."""

from __future__ import annotations

import time

from core.records import Block
from index.html import html_blocks


def test_paragraphs_breaks_entities_and_nfc() -> None:
    html = (
        "<p>One  two\nthree &amp; four</p><p>Line<br>break</p>"
        "<div>De\u0301le\u0301gue\u0301&nbsp;Spe\u0301cial</div>"
    )
    assert html_blocks(html) == [
        Block("One two three & four"),
        Block("Line\nbreak"),
        Block("Délégué Spécial"),
    ]


def test_style_script_comments_and_head_never_reach_text() -> None:
    html = (
        "<html><head><title>T</title><style>p {color: red}</style></head><body>"
        "Hello<script>alert(1)</script><!-- hidden -->"
        '<style type="text/css">!--\n@page { size: 21cm 29.7cm; margin: 2cm }\n-->\n</style>'
        " world</body></html>"
    )
    assert html_blocks(html) == [Block("Hello world")]


def test_word_namespaced_tags_and_conditional_comments() -> None:
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><body>'
        "<!--[if gte mso 9]><xml><o:OfficeDocumentSettings/></xml><![endif]-->"
        '<p class="MsoNormal">Budget<o:p></o:p></p></body></html>'
    )
    assert html_blocks(html) == [Block("Budget")]


def test_thunderbird_cite_prefix_and_mid() -> None:
    html = (
        "<p>Reply</p>"
        '<div class="moz-cite-prefix">On 4/16/25 8:31 AM, Jan Beulich wrote:<br></div>'
        '<blockquote type="cite" cite="mid:abc%40example.org">Quoted'
        '<blockquote type="cite">Deeper</blockquote></blockquote>'
    )
    assert html_blocks(html) == [
        Block("Reply"),
        Block("On 4/16/25 8:31 AM, Jan Beulich wrote:", kind="attribution"),
        Block("Quoted", depth=1, cite_id="abc@example.org"),
        Block("Deeper", depth=2),
    ]


def test_bare_blockquote_needs_evidence() -> None:
    indent = '<div>Text</div><blockquote class="webkit-indent-blockquote">Indented</blockquote>'
    assert html_blocks(indent) == [Block("Text\nIndented")]
    quoted = '<div>Parminder wrote : </div><blockquote class="webkit-indent-blockquote">Said</blockquote>'
    assert html_blocks(quoted) == [Block("Parminder wrote :"), Block("Said", depth=1)]


def test_outlook_splitter_quotes_everything_after() -> None:
    html = (
        "<div>Mine</div><div><div style=\"border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0in 0in 0in\">"
        "<p><b>From:</b> A<br><b>Sent:</b> B</p></div></div><p>Theirs</p>"
    )
    assert html_blocks(html) == [
        Block("Mine"),
        Block("From: A\nSent: B", depth=1),
        Block("Theirs", depth=1),
    ]


def test_gt_lines_inside_html_and_stray_markers() -> None:
    html = "<font>Mine<br><br></font>><font>para 76 revolve around the >question</font><br><br>Back"
    assert html_blocks(html) == [
        Block("Mine"),
        Block("para 76 revolve around the question", depth=1),
        Block("Back"),
    ]


def test_gmail_signature_container() -> None:
    html = 'Hi<div class="gmail_signature">Jane<br>ACME</div>'
    assert html_blocks(html) == [Block("Hi"), Block("Jane\nACME", kind="signature")]


def test_unescaped_address_is_put_back() -> None:
    blocks = html_blocks("<div>On Sep 4, Jane Roe <jane@example.com> wrote:</div>")
    assert blocks == [Block("On Sep 4, Jane Roe <jane@example.com> wrote:")]


def test_pre_keeps_newlines() -> None:
    assert html_blocks("<pre>a\n  b\n\nc</pre>") == [Block("a\n  b"), Block("c")]


def test_empty_and_broken_input() -> None:
    assert html_blocks("") == []
    assert html_blocks("<!-- only a comment -->") == []
    assert html_blocks("<?xml version='1.0' encoding='utf-8'?><html><body>hi</body></html>") == [Block("hi")]
    assert html_blocks("<p>unclosed <b>bold") == [Block("unclosed bold")]


def test_deep_nesting_keeps_text_without_recursion() -> None:
    for n in (300, 5000):
        blocks = html_blocks("<div>" * n + "deep" + "</div>" * n)
        assert [b.text for b in blocks] == ["deep"]
    quoted = html_blocks('<blockquote type="cite">' * 20 + "q" + "</blockquote>" * 20)
    assert quoted == [Block("q", depth=20)]


def test_megabyte_table_is_fast() -> None:
    html = "<table>" + "<tr><td>cell a</td><td>cell b wrote:</td></tr>" * 25000 + "</table>"
    start = time.perf_counter()
    blocks = html_blocks(html)
    assert time.perf_counter() - start < 10
    assert blocks[0].text.split("\n")[:2] == ["cell a cell b wrote:", "cell a cell b wrote:"]
