"""python -m excelfmt: the same as the excelfmt command."""

from excelfmt.cli import main

main()
