"""The report of a run: each row's result, the Summary sheet, and the files written from them.

report.xlsx (Results + Summary), results.csv and the failed-rows file.
"""
