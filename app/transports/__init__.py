"""Transports: one ``transmit(apdu: bytes) -> bytes`` contract; emulated, PC/SC and NFC adapters and shared APDU wrappers."""
