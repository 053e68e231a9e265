"""PySide6 user interface. Imports core, never store or platforms directly for I/O."""
