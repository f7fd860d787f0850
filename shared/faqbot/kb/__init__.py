"""Knowledge base: spreadsheet ingest, versioned storage and the matcher."""
