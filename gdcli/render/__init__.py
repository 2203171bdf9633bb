"""Rendering: terminal detection, Rich tables, plotext plots, json/csv/plain writers."""
