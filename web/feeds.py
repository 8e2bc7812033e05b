"""Machine-readable faces of a search: the Atom feed and the OpenSearch description.

The feed is a search sorted newest first, so a researcher can follow a topic in a
feed reader; its entries carry plain text only (autoescaped XML), never mail HTML.
"""

from __future__ import annotations

import re
from dataclasses import replace

from flask import Blueprint, Response, render_template, request, url_for

from web import pages, params

bp = Blueprint("feeds", __name__)

FEED_ENTRIES = 50
# What XML 1.0 forbids even escaped (section 2.2): C0 controls but tab and line ends,
# lone surrogates, U+FFFE/U+FFFF. Ingestion strips controls; an index built before
# that, or a query typed with them, must still give a feed a reader can parse.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@bp.route("/feed.atom")
def feed() -> Response:
    args = request.args.copy()
    args["sort"] = "-date"
    args["size"] = str(min(FEED_ENTRIES, pages.settings().max_page_size))
    search_request = params.parse_search(args, pages.settings(), with_facets=False)
    # Newest first among dated mail only (a filter on the years that hold mail): undated
    # messages sort first and would otherwise fill the feed.
    query = search_request.query
    filters = search_request.filters
    if "year" not in filters and "month" not in filters:
        years = pages.dated(dict(filters)).years or ("0000",)
        search_request = replace(search_request, filters={**filters, "year": years})
    results = pages.run_search(search_request)
    query_string = params.with_args(request.args, sort=None)
    # An undated message has no place in a feed (Atom requires <updated>), and stamping it
    # with the archive's last date would announce old mail as new.
    entries = [hit for hit in results.hits if hit.date]
    dates = [hit.date for hit in entries]
    body = render_template(
        "feed.xml",
        results=results,
        entries=entries,
        query=query,
        updated=max(dates) if dates else "1970-01-01T00:00:00Z",
        self_url=url_for("feeds.feed", _external=True) + query_string,
        html_url=url_for("pages.search", _external=True) + query_string,
    )
    return Response(_NOT_XML.sub("", body), mimetype="application/atom+xml")


@bp.route("/opensearch.xml")
def opensearch() -> Response:
    body = render_template("opensearch.xml")
    return Response(body, mimetype="application/opensearchdescription+xml")
