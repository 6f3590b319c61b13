"""hearth: an offline, hands-free voice companion for couples' connection exercises."""

__version__ = "0.1.0"
