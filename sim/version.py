"""The version of paxsim (kept in step with pyproject.toml), in a module of its own."""

__version__ = "0.1.0"
