"""The measuring instrument: `python -m bench` (or `make bench`) drives the real service."""
