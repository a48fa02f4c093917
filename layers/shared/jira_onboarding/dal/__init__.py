"""Data access: PynamoDB models stay here; logic sees plain records."""
