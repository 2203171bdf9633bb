"""gdcli: a command-line gradient descent explorer."""

__version__ = "0.1.0"  # the one version source (pyproject reads it)

DEFAULT_LOSS = "(w - 3)**2"  # the loss when none is given (the CLI also reads $GDCLI_LOSS)


def version() -> str:
    return __version__
