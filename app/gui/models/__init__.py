"""Qt models over the run's events: the timeline, the APDU log, the TLV tree, the checks.

Models file and format what the worker reports; they compute nothing about the
protocol and import neither crypto nor drivers.
"""
