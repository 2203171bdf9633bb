"""gdcli: a command-line gradient descent explorer."""


def version() -> str:
    """gdcli's version, from the installed package metadata (the one source: pyproject)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("gdcli")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
