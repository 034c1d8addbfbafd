"""Read the input: CSV and spreadsheet files into rows of text cells with their row numbers.

The loader also says what it detected (encoding, delimiter, sheet) and finds the columns.
"""
