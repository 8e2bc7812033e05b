"""WSGI entry point: `gunicorn wsgi:app` or `waitress-serve wsgi:app`.

Settings come from $GOVMAIL_CONFIG / $GOVMAIL_INDEX and friends (see README). Absolute
URLs come from ``base_url`` (never the Host header); unset, they say http://localhost.
"""

import logging

from core import config
from govmail.server import with_base_url
from index.raw import read
from web import create_app

_settings = config.load()
if not _settings.base_url:
    logging.getLogger("govmail").warning(
        "base_url is not set: absolute links (feeds, OpenSearch) will say http://localhost"
    )
app = with_base_url(create_app(_settings, read_original=read),
                   _settings.base_url or "http://localhost")
