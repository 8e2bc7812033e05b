"""govmail's benchmark suite: ``python -m bench`` (see bench/README.md).

One module per section: ``ingest`` (sample corpus, end-to-end indexing, the incremental
batch), ``queries`` (query sets drawn from the corpus and search latency through
``search.engine.Engine``), ``web_load`` (4 clients against waitress serving the real app)
and ``baselines`` (SQLite FTS5 and tantivy over the same corpus and queries, in the same
run). ``__main__`` runs the sections, prints tables and writes the JSON and RESULTS.md.
Nothing in govmail imports this package; the figures are never asserted by unit tests.
"""
