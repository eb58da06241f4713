"""customs-rules: declarative customs risk rules that say hold, inspect or release."""

__version__ = "0.1.0"
