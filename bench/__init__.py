"""Benchmarks and the fault suite: figures are printed and written, never asserted
(``python -m bench --help``)."""
