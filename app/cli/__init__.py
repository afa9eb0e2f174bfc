"""The ``trustone`` command line."""
