"""Search engines behind one seam: each subpackage implements ``search.backend``'s Reader and Writer."""
