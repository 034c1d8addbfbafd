"""The report of a run: each row's result, the Summary sheet, and the files written from them.

report.xlsx (Results + Summary), results.csv and the failed-rows file.
"""

import sys

# openpyxl imports numpy, when it can, only to count numpy's scalars as numbers; the report
# writes Python values only, and loading numpy is a fifth of a second of every command's
# start. So unless numpy is loaded already (pandas, the Python API), openpyxl is first imported
# with numpy hidden; numpy itself stays importable afterwards (pandas turns its scalars into
# Python ones before they reach openpyxl).
if "openpyxl" not in sys.modules and "numpy" not in sys.modules:
    sys.modules["numpy"] = None  # type: ignore[assignment]  # "import numpy" fails
    try:
        import openpyxl  # noqa: F401
    finally:
        del sys.modules["numpy"]
