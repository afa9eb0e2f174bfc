"""Emulated EMV contactless card: applet, profiles, personalisation, faults, bridges.

May import :mod:`protocol`; never imports :mod:`app`.
"""
