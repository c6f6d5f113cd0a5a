"""runreplay's pytest plugin; installed as the package ``runreplay_pytest`` (see pyproject.toml)."""
