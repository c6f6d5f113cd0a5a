"""``python -m runreplay.schema``: rewrite the package's catalog.json after the models changed."""

from runreplay.schema import catalog

print(f"{catalog.PATH}: {'rewritten' if catalog.refresh() else 'already current'}")
