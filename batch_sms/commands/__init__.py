"""The use cases the CLI and the Python API call: validate, send, resume, retry, report, runs."""
