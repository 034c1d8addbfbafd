"""Pre-flight: render each row, check its numbers and text, give every row a verdict.

No module here sends anything; `preflight` is the only one that reads a file (through `input`).
"""
