"""What people see on a terminal: the live view of a run and tables of stored records.

The only package besides `cli` that imports rich. Imports anything but `cli`.
"""
