"""The PySide6 desktop app. Widgets observe a worker through signals; they never compute."""
