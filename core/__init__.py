"""Shelfcast's domain library. Knows nothing of Streamlit: the app and the CLI both call it."""

__version__ = "0.1.0"
