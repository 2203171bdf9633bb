"""What each command computes, as a `Report` (data, tables, notes, plots).

This layer calls the core and shapes its results; the CLI only parses options
and writes the report. Nothing here prints.
"""
