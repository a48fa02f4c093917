"""Use cases, one per module; handlers call exactly one function from here."""
