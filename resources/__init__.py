"""Data files shipped with the simulator (no code lives here): the EMV dictionary,
CA public keys, card profiles, icons.

A package only so that an installed wheel carries the files. Code finds them with
:func:`protocol.resources.resource_path`, which uses ``importlib.resources``.
"""
