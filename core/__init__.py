"""The engine-neutral core every other package stands on: records, configuration, errors, results.

It imports nothing of govmail outside itself, so ingestion (``index/``), search (``search/``),
the engines (``backends/``) and the web app can all depend on it without a cycle.
"""
