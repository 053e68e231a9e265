"""Icons and other assets of Atlas Desk, packaged as ``atlas_desk.resources`` (pyproject: package-dir)."""
