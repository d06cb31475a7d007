"""Everything that reads or writes a workbook.

sniff (the format, by content), reader (header + streamed rows; an .xlsx read by openpyxl
through opc, xlsxbook and xlsxrows, corrected where Excel shows otherwise), writer (the
results workbook or JSON lines, in input order via reorder), fixbook (the fix workbook of
`errors export`, and reading corrections back) and export (results rendered again from
the journal).

Imports the plain data, `settings`, `metrics`, `calls` and `store` (fixbook and export
work from stored errors and journals); never `engine`.
"""
