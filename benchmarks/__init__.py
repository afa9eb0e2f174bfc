"""Benchmarks of the TrustOne Tap Simulator (``python -m benchmarks``).

Six benchmarks, each reporting medians and ratios measured in the same run (never a
lone absolute time) with its goal and PASS/MISS beside it. The goals are
informational: the command exits 0 whatever they say, and nothing here is a
pass/fail test (``tests/benchmarks`` only proves the command runs).

See ``benchmarks/README.md`` for what each figure means and how the floors are defined.
"""
