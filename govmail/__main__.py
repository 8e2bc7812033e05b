"""``python -m govmail``: the ``govmail`` command, resident-aware (``govmail/entry.py``)."""

from govmail.entry import main

main()
