"""EMV cryptography with EMV-named functions.

Only :mod:`protocol.crypto.primitives` imports the ``cryptography`` package; the
other modules build EMV algorithms (EMV 4.4 Book 2) on top of it.
"""
