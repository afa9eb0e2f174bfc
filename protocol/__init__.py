"""Sans-I/O protocol core of the TrustOne Tap Simulator.

Pure functions and state machines over ``bytes``: BER-TLV, APDUs, the EMV data
dictionary, DOLs, EMV cryptography, the phone authenticator session and the
verifier logic. No threads, sleeps, sockets, databases or driver imports here
(checked by import-linter); it imports nothing else of the project.
"""
