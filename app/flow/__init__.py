"""Drives sans-I/O sessions over transports: the flow runner, verifier storage, attack lab."""
