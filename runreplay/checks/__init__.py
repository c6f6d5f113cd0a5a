"""Checks of recorded traffic against the documented types: ``validation`` (what a schema
rejects), ``drift`` (every difference, with a severity), ``compare`` (two recordings of
one test) and ``spec`` (our schemas against the vendors' own OpenAPI specs)."""
