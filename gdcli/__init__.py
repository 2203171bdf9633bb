"""gdcli: a command-line gradient descent explorer."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gdcli")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
