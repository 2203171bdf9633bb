"""gdcli: a command-line gradient descent explorer."""

__version__ = "0.1.0"  # the one version source (pyproject reads it)


def version() -> str:
    return __version__
