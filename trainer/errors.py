"""Errors the CLI reports as one clear line instead of a stack trace."""


class UserError(Exception):
    """Bad input, a missing file, an impossible option: printed as `error: <message>`, exit code 2."""
