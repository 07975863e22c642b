"""mailwright: build, inject, retrieve, dissect and automate mail."""

from ._mailwright import __version__

__all__ = ["__version__"]
