"""The JSON API, the Atom feed and the OpenSearch description, over the real Engine.

The API must answer with the CLI's shapes: ``Results.to_json()`` and the views'
``to_json()``, checked against the engine itself and against core/result.schema.json.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.results import SearchRequest
from tests.conftest import REPO

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
RESULT_SCHEMA = REPO / "core" / "result.schema.json"


def without_timing(data: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if k != "elapsed_ms"}


def test_api_search_is_the_engines_results_json(app: Flask, client: FlaskClient) -> None:
    response = client.get("/api/search?q=IANA&list=ietf")
    assert response.status_code == 200 and response.mimetype == "application/json"
    expected = app.extensions["govmail"].search(
        SearchRequest(query="IANA", filters={"list": ("ietf",)})).to_json()
    for hit in expected["hits"]:
        hit["email"] = hit["email"].replace("@", " at ")
    assert without_timing(response.get_json()) == without_timing(expected)
    assert [h["message_id"] for h in response.get_json()["hits"]] == [
        "ietf-1@ietf.example", "ietf-2@ietf.example"]


def test_api_search_matches_the_result_schema(client: FlaskClient) -> None:
    if not RESULT_SCHEMA.is_file():
        pytest.skip(f"{RESULT_SCHEMA} is absent")
    schema = json.loads(RESULT_SCHEMA.read_text(encoding="utf-8"))
    for url in ("/api/search?q=cooperation", "/api/search", "/api/search?q=zzxqvw&quoted=1"):
        jsonschema.validate(client.get(url).get_json(), schema)


def test_api_search_paging_and_facets(client: FlaskClient) -> None:
    data = client.get("/api/search?sort=date&size=2&page=2").get_json()
    assert (data["total"], data["page"], data["page_size"], data["sort"]) == (8, 2, 2, "date")
    assert [h["message_id"] for h in data["hits"]] == ["root-1@example.org",
                                                       "a/b+c$d@example.net"]
    assert data["facets"]["year"] == [["2009", 2], ["2010", 3], ["2011", 1], ["2014", 2]]


def test_api_message_is_the_views_json(app: Flask, client: FlaskClient) -> None:
    message_id = "x?y#z%41 w@example.org"
    response = client.get("/api/message/x%3Fy%23z%2541%20w@example.org")
    assert response.status_code == 200
    expected = app.extensions["govmail"].message(message_id).to_json()
    expected["email"] = "milton at syr.example"
    expected["headers"] = expected["headers"].replace("@", " at ")
    # The file's name, never where the server keeps it.
    expected["source"] = {"file": "messages.json", "key": message_id}
    # Offsets into the texts as stored, before obfuscation: the page's business, not the API's.
    del expected["reference_spans"]
    assert response.get_json() == expected
    assert response.get_json()["quotes"] == [{
        "author": "Parminder Jeet Singh", "message_id": "a/b+c$d@example.net", "depth": 1,
        "text": "I disagree. Enhanced cooperation is about public policy on the Internet.",
        "at": -1, "known": True,
    }]


def test_api_thread(client: FlaskClient) -> None:
    data = client.get("/api/thread/icann-1@icann.example").get_json()
    assert data == {
        "thread_id": "icann-1@icann.example",
        "subject": "New gTLD applicant guidebook",
        "messages": [
            {"message_id": "icann-1@icann.example", "parent_id": None, "depth": 0,
             "author": "Avri Doria", "date": "2009-11-02T21:40:00Z",
             "subject": "New gTLD applicant guidebook",
             "first_line": "Comments on the applicant guidebook are due next week; cooperation "
             "between constituencies would help."},
            {"message_id": "icann-2@icann.example", "parent_id": "icann-1@icann.example",
             "depth": 1, "author": "Parminder Jeet Singh", "date": "2009-11-04T06:15:00Z",
             "subject": "Re: New gTLD applicant guidebook",
             "first_line": "The guidebook says nothing about developing countries."},
        ],
    }


def test_api_author(client: FlaskClient) -> None:
    assert client.get("/api/author/Avri%20Doria").get_json() == {
        "name": "Avri Doria", "emails": ["avri at acm.example"], "group": "civil society",
        "affiliation": None, "total": 2, "years": [["2009", 1], ["2014", 1]],
        "lists": [["governance", 1], ["icann", 1], ["ietf", 1]], "quotes": [],
        "quoted_by": [["Milton Mueller", 1], ["Parminder Jeet Singh", 1]],
        "cites": [], "mentions": [],
    }


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        ("/api/search?q=(((", 400, "bad query: "),
        ("/api/search?page=0", 400, "page must be from 1 to 500, not 0"),
        ("/api/search?size=101", 400, "size must be from 1 to 100, not 101"),
        ("/api/search?sort=score", 400, "sort must be one of relevance, -date, date, not 'score'"),
        ("/api/search?q=cooperation&page=2", 404, "page 2 is beyond the end: 5 hits make 1 page"),
        ("/api/message/nobody@nowhere", 404,
         "no message with id 'nobody@nowhere' is in the index"),
        ("/api/thread/nobody@nowhere", 404, "no thread with id 'nobody@nowhere' is in the index"),
        ("/api/author/Nobody", 404, "no author named 'Nobody' is in the index"),
        ("/api/nothing/here", 404, "no API endpoint /api/nothing/here"),
    ],
)
def test_api_errors_have_one_shape(client: FlaskClient, url: str, status: int,
                                   error: str) -> None:
    response = client.get(url)
    data = response.get_json()
    assert (response.status_code, response.mimetype) == (status, "application/json")
    assert set(data) == {"ok", "error", "status"}
    assert (data["ok"], data["status"]) == (False, status)
    assert data["error"].startswith(error) if error.endswith(": ") else data["error"] == error


def test_atom_feed_follows_a_search_newest_first(client: FlaskClient) -> None:
    response = client.get("/feed.atom?q=cooperation&list=governance")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.findtext(f"{ATOM}title") == "govmail: cooperation"
    assert feed.findtext(f"{ATOM}updated") == "2011-06-01T12:00:00Z"
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {
        "self": "http://localhost/feed.atom?q=cooperation&list=governance",
        "alternate": "http://localhost/search?q=cooperation&list=governance",
    }
    entries = [(e.findtext(f"{ATOM}id"), e.findtext(f"{ATOM}title"),
                e.findtext(f"{ATOM}author/{ATOM}name"), e.findtext(f"{ATOM}updated"))
               for e in feed.findall(f"{ATOM}entry")]
    assert entries == [
        ("http://localhost/message/xss-1@evil.example",
         '<script>alert("subject")</script> cooperation', "<img src=x onerror=alert(1)>",
         "2011-06-01T12:00:00Z"),
        ("http://localhost/message/x%3Fy%23z%2541%20w@example.org",
         "Re: Re: Enhanced cooperation and the IGF", "Milton Mueller", "2010-02-20T09:30:00Z"),
        ("http://localhost/message/a/b+c$d@example.net",
         "Re: Enhanced cooperation and the IGF", "Parminder Jeet Singh", "2010-02-19T08:00:00Z"),
        ("http://localhost/message/root-1@example.org",
         "Enhanced cooperation and the IGF", "Milton Mueller", "2010-02-18T13:26:00Z"),
    ]


def test_opensearch_description(client: FlaskClient) -> None:
    response = client.get("/opensearch.xml")
    assert response.mimetype == "application/opensearchdescription+xml"
    root = ET.fromstring(response.data)
    assert root.findtext(f"{OPENSEARCH}ShortName") == "govmail"
    assert {u.get("type"): u.get("template") for u in root.findall(f"{OPENSEARCH}Url")} == {
        "text/html": "http://localhost/search?q={searchTerms}",
        "application/atom+xml": "http://localhost/feed.atom?q={searchTerms}",
        "application/json": "http://localhost/api/search?q={searchTerms}",
        "application/opensearchdescription+xml": "http://localhost/opensearch.xml",
    }


def test_api_search_equals_the_cli_json(web_index: Path, client: FlaskClient) -> None:
    """DESIGN: `govmail search --format json --facets` and GET /api/search return the same
    object (without --facets the CLI leaves the facet counts out: issue 19)."""
    from click.testing import CliRunner

    from govmail.cli import cli

    shown = CliRunner().invoke(
        cli, ["search", "governments", "--index", str(web_index), "--format", "json",
              "--facets"],
        env={"GOVMAIL_CONFIG": ""},
    )
    assert shown.exit_code == 0, shown.output
    from_cli = json.loads(shown.output)
    from_api = client.get("/api/search?q=governments").get_json()
    for hit in from_cli["hits"]:
        hit["email"] = hit["email"].replace("@", " at ") if hit["email"] else None
    assert without_timing(from_api) == without_timing(from_cli)
