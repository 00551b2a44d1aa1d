"""The Python API (graphrec.connect): to be written."""
