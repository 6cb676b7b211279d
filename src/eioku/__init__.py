"""Eioku: a video library turned into a database of time-aligned artifacts."""

__version__ = "0.1.0"
