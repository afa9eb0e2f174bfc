"""Tests of the NFC path: ISO-DEP target, nfcpy udp bridge, nfcpy reader transport."""
