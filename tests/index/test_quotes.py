"""quotes.split and split_body on plain text: attributions, headers, signatures, footers, sign-offs."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.records import Attachment, Block, Quote, Split
from index.body import split_body
from index.quotes import attribution_author, clean_name
from index.quotes import split as _split


def _unplaced(result: Split) -> Split:
    """The split without quote offsets, which tests of their own check (test_quote_offsets)."""
    return replace(result, quotes=tuple(replace(q, at=-1) for q in result.quotes))


def _plain(text: str) -> Split:
    return _unplaced(split_body(text, "text/plain"))


def split(blocks: list[Block]) -> Split:
    return _unplaced(_split(blocks))


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("Bertrand de La Chapelle wrote:", "Bertrand de La Chapelle"),
        ("Parminder wrote :", "Parminder"),
        ("On Wed, Mar 16, 2016 at 12:49 AM, Foo Bar <foo@bar.example> wrote:", "Foo Bar"),
        ("On Apr 3, 2012, at 4:19 PM, bob wrote:", "bob"),
        ("On Tue, 2011-03-01 at 18:02 +0530, Abhishek Kona wrote:", "Abhishek Kona"),
        ("Le 18 févr. 2010 à 14:26, Bertrand de La Chapelle a écrit :", "Bertrand de La Chapelle"),
        ("Jeanette Hofmann a écrit :", "Jeanette Hofmann"),
        ("Am 06.04.21 um 23:22 schrieb Jan Beulich:", "Jan Beulich"),
        ("Am So., 8. Juni 2025 um 02:43 Uhr schrieb Max Muster <max@example.de>:", "Max Muster"),
        ("Max Muster <max@example.de> schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:", "Max Muster"),
        ("El lun, 24 mar 2025 a las 11:02, Ana Pérez (<ana@example.es>) escribió:", "Ana Pérez"),
        ("Il giorno mer 9 mar 2022 alle ore 20:09 Mario Rossi <mario@example.it> ha scritto:", "Mario Rossi"),
        ("Em 16/01/2024 10:14, João Silva escreveu:", "João Silva"),
        ("Op 13-02-2014 3:18 schreef Jan de Vries <jan@example.nl>:", "Jan de Vries"),
        ("Op 24 aug. 2013 om 16:48 heeft Piet Jansen het volgende geschreven:", "Piet Jansen"),
        ("Den 24. nov. 2025 kl. 10.00 skrev Lars Hansen <lars@example.dk>:", "Lars Hansen"),
        ("2009/7/17 Michael Gurstein <gurstein@example.com>", "Michael Gurstein"),
        ("ср, 30 апр. 2025 г. в 15:19, John Doe <doe@example.com>:", "John Doe"),
        ("在 2016年12月12日，下午8:45，Erlend Sogge Heggen <info@example.org> 写道：", "Erlend Sogge Heggen"),
        ("--- On Wed, 4/21/10, Ginger Paque <gpaque@example.org> wrote:", "Ginger Paque"),
        ("---- Jane Roe wrote ----", "Jane Roe"),
    ],
)
def test_attribution_languages(line: str, author: str) -> None:
    split = _plain(f"Reply text.\n\n{line}\n\n> Quoted text.\n")
    assert split.original_text == "Reply text."
    assert split.quotes == (Quote(author, None, 1, "Quoted text."),)
    assert attribution_author(line) == author


def test_clean_name_forms() -> None:
    assert clean_name("Avri Doria [mailto:avri@example.org]") == "Avri Doria"
    assert clean_name('"amd-gfx" <amd-gfx-bounces@lists.freedesktop.org> on behalf of Clemens Eisserer') == "Clemens Eisserer"
    assert clean_name("vondruch@REDHAT.com") == "vondruch@redhat.com"
    assert clean_name("Jane Roe via governance") == "Jane Roe"
    assert clean_name("") is None


@pytest.mark.parametrize(
    "text",
    [
        "On the surface, this looks like a quote.\nOn average it works.",
        "The data comes from: our database\nand to: nowhere.",
        "A fix -- not a signature.",
        "With regards to the budget, nothing changed.",
        "John wrote: the report is late.",
        "Bertrand de La Chapelle wrote:\nand nothing quoted follows.",
    ],
)
def test_false_positives_split_nothing(text: str) -> None:
    assert _plain(text) == Split(original_text=text, quoted_text="")


def test_outlook_header_block_localised_without_separator() -> None:
    text = (
        "Agreed.\n\nDe : Adam Peake [mailto:ajp@example.jp]\nEnvoyé : jeudi 18 février 2010 10:12\n"
        "À : governance@lists.cpsr.org\nObjet : Déclaration\n\nVoici le projet.\n"
    )
    split = _plain(text)
    assert split.original_text == "Agreed."
    assert split.quotes == (Quote("Adam Peake", None, 1, "Voici le projet."),)
    assert split.quoted_text == "Voici le projet."


def test_outlook_express_indented_block() -> None:
    text = (
        "My answer.\n\n  ----- Original Message -----\n  From: Parminder\n"
        "  To: governance at lists.cpsr.org\n  Sent: Wednesday, March 19, 2008 11:57 AM\n\n"
        "  The question.\n"
    )
    split = _plain(text)
    assert split.original_text == "My answer."
    assert [(q.author, q.depth) for q in split.quotes] == [("Parminder", 1)]
    assert "The question." in split.quoted_text


def test_signature_footer_and_signoff() -> None:
    text = (
        "Please comment by Friday.\n\nBest,\nJeremy\n\n-- \nJeremy Malcolm\nConsumers International\n"
        "____________________________________________________________\n"
        "You received this message as a subscriber on the list:\n     governance@lists.cpsr.org\n"
        "To be removed from the list, visit:\n     http://www.igcaucus.org/unsubscribing\n"
    )
    split = _plain(text)
    assert split.original_text == "Please comment by Friday.\n\nBest,\nJeremy"
    assert split.signature == "--\nJeremy Malcolm\nConsumers International"
    assert split.footer.startswith("____")
    assert split.footer.endswith("http://www.igcaucus.org/unsubscribing")
    assert split.signoff == "Jeremy"


def test_signoff_not_salutation_and_from_signature() -> None:
    assert _plain("Jeanette and Bertrand,\n\nI agree with both of you on this point.").signoff is None
    assert _plain("Thanks for the notes.\n\n--\nMit lieben Grüßen\n\nJohn Doe\n").signoff == "John Doe"
    assert _plain("Foo\n\nBar").signoff is None


def test_quoted_signature_stays_quoted() -> None:
    split = _plain("Mine.\n\nBob wrote:\n> His.\n> -- \n> Bob Smith\n")
    assert split.signature == ""
    assert split.quotes == (Quote("Bob", None, 1, "His.\n--\nBob Smith"),)


def test_phone_signatures() -> None:
    for line in ("Sent from my iPhone", "Envoyé de mon iPhone", "Von meinem iPhone gesendet",
                 "Enviado desde mi iPhone", "Verstuurd vanaf mijn iPhone", "從我的 iPhone 傳送",
                 "Get Outlook for iOS<https://aka.ms/o0ukef>"):
        assert _plain(f"Yes.\n\n{line}\n") == Split("Yes.", "", signature=line)


def test_pipermail_next_part_stub_is_an_attachment_not_text() -> None:
    text = "Body.\n-------------- next part --------------\nAn HTML attachment was scrubbed...\nURL: <http://x/a.htm>\n"
    split = _plain(text)
    assert split.original_text == "Body."
    assert split.footer == ""
    assert split.attachments == (Attachment(None, "text/html", 0),)


def test_unprefixed_quote_after_dated_attribution() -> None:
    split = _plain("Thanks!\n\nOn Mon, Jan 4, 2016 at 10:00 AM, Neil <neil@example.org> wrote:\n\nOriginal body.\n")
    assert split.original_text == "Thanks!"
    assert split.quotes == (Quote("Neil", None, 1, "Original body."),)


def test_markup_attribution_block_names_next_quote() -> None:
    blocks = [
        Block("Mine"),
        Block("On Monday, Jane <jane@example.org> wrote:", kind="attribution"),
        Block("Hers", depth=1, cite_id="x@y"),
    ]
    assert split(blocks) == Split("Mine", "Hers", (Quote("Jane", "x@y", 1, "Hers"),))


def test_no_catastrophic_backtracking() -> None:
    cases = [
        "On " + "a, " * 20000 + " wrote:\n> x",
        ("On a, b wrote " * 30 + "\n") * 2000,
        ("x@" * 10000) + "\n" + ("a<" * 200 + "\n") * 500,
        ("> " * 5000 + "wrote:\n") * 20,
        ("From: " + "a " * 3000 + "\n") * 50,
    ]
    for text in cases:
        start = time.perf_counter()
        _plain(text)
        assert time.perf_counter() - start < 3, text[:40]


def test_closing_word_with_name_is_not_a_signoff() -> None:
    assert _plain("I agree with the report you sent.\n\nThanks Bertrand").signoff is None


def test_long_text_after_dashes_is_not_a_signature() -> None:
    text = "Intro.\n\n--\n\n" + "\n".join(f"Point {i} of the argument." for i in range(25))
    split = _plain(text)
    assert split.signature == ""
    assert split.original_text.endswith("Point 24 of the argument.")


_TOKENS = st.sampled_from([
    ">", "> ", ">>", "-- ", "--", "\n", "\n\n", " ", "wrote:", "On Mon, Jan 4, 2016,", "Jane Doe",
    "<jane@example.org>", "From:", "Sent:", "To:", "Subject:", "-----Original Message-----",
    "_" * 30, "mailing list", "Sent from my iPhone", "a écrit :", "Le 4 janv.", "x", "Délégué",
    "<blockquote type=cite>", "</blockquote>", "<br>", "<div>", "</div>", "&gt;", "<p>", "\u00a0",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(_TOKENS, max_size=60), st.sampled_from(["text/plain", "text/html"]))
def test_never_raises_and_invents_no_letters(tokens: list[str], kind: str) -> None:
    text = "".join(tokens)
    result = split_body(text, kind)
    # Tags may glue neighbouring words, so compare letters, not words.
    source_letters = set(re.sub(r"\W", "", text))
    for field in (result.original_text, result.quoted_text, result.signature, result.footer):
        assert set(re.sub(r"\W", "", field)) <= source_letters
    for quote in result.quotes:
        assert quote.depth >= 1
        assert quote.text in result.quoted_text


def test_quoted_mailman_footer_is_one_paragraph() -> None:
    text = (
        "Agreed.\n\nOn 17 Mar 2010, at 09:33, Stefaan wrote:\n\nIs this the same capability?\n\n"
        "_______________________________________________\nANCP mailing list\nANCP@ietf.org\n"
        "https://www.ietf.org/mailman/listinfo/ancp\n\nFrancois Le Faucheur\nDistinguished Engineer\n"
    )
    split = _plain(text)
    assert split.footer == (
        "_______________________________________________\nANCP mailing list\nANCP@ietf.org\n"
        "https://www.ietf.org/mailman/listinfo/ancp"
    )
    assert split.quotes == (
        Quote("Stefaan", None, 1, "Is this the same capability?"),
        Quote("Stefaan", None, 1, "Francois Le Faucheur\nDistinguished Engineer"),
    )


def test_german_outlook_im_auftrag_von() -> None:
    text = (
        "Thanks.\n\n________________________________________\n"
        "Von: ancp-bounces@ietf.org [mailto:ancp-bounces@ietf.org] Im Auftrag von Francois Le Faucheur\n"
        "Gesendet: Mittwoch, 17. März 2010 18:24\nAn: DE CNODDER Stefaan\nBetreff: Re: [ANCP] capability\n"
        "Hi Stefaan,\nYes, remove them.\n"
    )
    split = _plain(text)
    assert split.original_text == "Thanks."
    assert split.quotes == (Quote("Francois Le Faucheur", None, 1, "Hi Stefaan,\nYes, remove them."),)


def test_inline_excerpt_takes_author_of_full_quote() -> None:
    text = (
        "> the recommendations of the UN SG should mainly revolve around continuation\n\n"
        "I disagree.\n\nBertrand wrote:\n> Dear all,\n> the recommendations of the UN SG should mainly "
        "revolve around continuation, yes or no.\n"
    )
    quotes = _plain(text).quotes
    assert [(q.author, q.depth) for q in quotes] == [("Bertrand", 1), ("Bertrand", 1)]


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("At 12:01 PM 2/28/2005, Furquan Ansari wrote:", "Furquan Ansari"),
        ("At 02:11 PM 11/3/2009, you wrote:", None),
        ("On Mon, 1 Jan 2005, foo at vultaire.net wrote:", "foo@vultaire.net"),
        ("On Feb 21, 2010, at 8:00 PM, Alexandre Quessy wrote", "Alexandre Quessy"),
        ('Quoting "Glyph Lefkowitz" <glyph at twistedmatrix.com>:', "Glyph Lefkowitz"),
        ("Don Dwiggins <ddwiggins at advpubtech.com> writes:", "Don Dwiggins"),
    ],
)
def test_archive_attribution_forms(line: str, author: str | None) -> None:
    split = _plain(f"Reply.\n\n{line}\n> Quoted.\n")
    assert split.original_text == "Reply."
    assert [(q.author, q.text) for q in split.quotes] == [(author, "Quoted.")]


def test_content_type_with_parameters() -> None:
    assert split_body("<p>a</p><p>b</p>", "text/html; charset=utf-8").original_text == "a\n\nb"


def test_lotus_notes_text_rendering() -> None:
    text = (
        "OK.\n\n[image: Inactive hide details for Howard Pritchard ---06/29/2015 09:27:12 PM---I decided]"
        "Howard Pritchard ---06/29/2015 09:27:12 PM---I decided\n\nFrom: Howard Pritchard <hp@example.org>\n"
        "To: users@example.org\nDate: 06/29/2015 09:27 PM\nSubject: Re: x\n\nI decided to go.\n"
    )
    assert _plain(text) == Split("OK.", "I decided to go.", (Quote("Howard Pritchard", None, 1, "I decided to go."),))


@pytest.mark.parametrize("marker", ["[...]", "[…]", "[snip]", "<snip>", "[..]", "[ ... ]"])
def test_elision_after_attribution_is_no_evidence_of_deeper_quoting(marker: str) -> None:
    split = _plain(f"On Mon, Jan 4, 2016 at 10:00 AM, Neil <neil@example.org> wrote:\n{marker}\n"
                   "> Quoted question?\n\nMy answer.\n")
    assert split.original_text == f"{marker}\n\nMy answer."
    assert split.quotes == (Quote("Neil", None, 1, "Quoted question?"),)


def test_quoted_elision_opens_no_quote_before_an_attribution() -> None:
    split = _plain("I agree with this.\n\n> [snip]\n> On Mon, Jan 4, 2016, Neil <neil@example.org> wrote:\n"
                   "> The hubs need a stable connection before the meeting opens.\n"
                   "> Each host has to find one of its own.\n")
    assert split.original_text == "I agree with this."
    assert [(q.author, q.depth, q.text) for q in split.quotes] == [
        (None, 1, "[snip]"), ("Neil", 1, "The hubs need a stable connection before the meeting opens.\n"
                                         "Each host has to find one of its own.")]


def test_elision_under_attribution_leaves_the_answer_unquoted() -> None:
    # Everything quoted was cut: the text under the marker is the writer's, not an unmarked
    # quote (a dated attribution over plain text would otherwise push it one level down).
    split = _plain("On Mon, Jan 4, 2016 at 10:00 AM, Neil <neil@example.org> wrote:\n> [..]\n\n"
                   "Apparently you changed the example.\n\n> [..]\n> Then I pass the address of the host instead.\n\n"
                   "This would never work.\n")
    assert split.original_text == "Apparently you changed the example.\n\nThis would never work."
    assert [(q.author, q.depth, q.text) for q in split.quotes] == [
        ("Neil", 1, "[..]"), ("Neil", 1, "[..]\nThen I pass the address of the host instead.")]


def test_cut_under_a_quoted_attribution_keeps_the_level_for_its_writer() -> None:
    # "> On ..., Neil wrote:" over "> [snip]": Neil's words were cut; the "> " lines after
    # the cut are Jane's, so the inner attribution must not claim their level.
    split = _plain("On Tue, Jan 5, 2016, Jane <jane@example.org> wrote:\n"
                   "> On Mon, Jan 4, 2016, Neil <neil@example.org> wrote:\n> [snip]\n>\n"
                   "> The hubs need a stable connection before the meeting opens.\n\nMy answer.\n")
    assert split.original_text == "My answer."
    assert [(q.author, q.depth, q.text) for q in split.quotes] == [
        ("Jane", 1, "[snip]\n\nThe hubs need a stable connection before the meeting opens.")]


@pytest.mark.parametrize("marker", ["[snip]", "[...]", "<snip>"])
def test_an_elision_is_no_console_line(marker: str) -> None:
    # No attribution above: the ">" run is judged on its lines, and a cut marker is neither
    # code nor prose (it starts with "[", as R's output and JSON do).
    split = _plain(f"> {marker}\n> Fine by me.\n\nThen we agree.\n")
    assert split.original_text == "Then we agree."
    assert [(q.depth, q.text) for q in split.quotes] == [(1, f"{marker}\nFine by me.")]
