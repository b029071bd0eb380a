"""`make bench`: plan timings against the import-and-mocks floor."""
