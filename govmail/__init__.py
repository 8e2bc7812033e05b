"""The composition root: the ``govmail`` command line wires sources, index, engines and web together.

Nothing imports this package; it imports every other one, lazily inside each command so that
``govmail search`` loads only the query path.
"""
