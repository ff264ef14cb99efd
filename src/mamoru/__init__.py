"""Mamoru (守る): a municipality's information security policy, run as software."""

__version__ = "0.1.0"
