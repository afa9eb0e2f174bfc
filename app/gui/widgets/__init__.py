"""The widgets of the main window. They render models and plain event dataclasses.

Rule (DESIGN.md §5): widgets observe, never compute. No module here imports
``protocol.crypto``, ``cryptography``, ``card_emulation``, ``app.transports`` or a
driver (``smartcard``, ``nfc``); ``tests/gui/test_architecture.py`` checks it.
"""
