"""caucus: caucus-night results reporting that adds up."""

__version__ = "0.1.0"
