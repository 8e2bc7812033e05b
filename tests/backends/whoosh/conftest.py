"""The Whoosh backend's own tests run with its patches applied, as every opened index has them."""

from __future__ import annotations

from backends.whoosh import patches

patches.apply()
