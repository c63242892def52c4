"""Scripts for maintainers (not shipped in the wheel): pictures for the docs, a headless browser."""
