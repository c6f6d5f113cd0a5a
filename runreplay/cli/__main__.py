"""``python -m runreplay.cli``: the same as the ``runreplay`` command."""

from runreplay.cli import main

main()
