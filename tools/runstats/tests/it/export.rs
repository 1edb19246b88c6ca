//! Export: CSV that Python's csv module parses, NDJSON lines that parse.
