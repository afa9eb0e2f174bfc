"""Application layer: transports, the flow runner, CLI, desktop app, pytest plugin.

The composition root of the project; nothing else imports it.
"""
