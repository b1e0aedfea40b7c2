"""The native compose runner: `python -m tools.runner` (see __main__.py and tools/README.md)."""
