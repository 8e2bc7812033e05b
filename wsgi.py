"""WSGI entry point: `gunicorn wsgi:app` or `waitress-serve wsgi:app`.

Settings come from $GOVMAIL_CONFIG / $GOVMAIL_INDEX and friends (see README).
"""

from index.raw import read
from web import create_app

app = create_app(read_original=read)
