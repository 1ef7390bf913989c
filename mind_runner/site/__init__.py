"""The published asv site, made to work without network."""
