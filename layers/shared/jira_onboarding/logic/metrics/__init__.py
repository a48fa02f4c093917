"""Sprint metrics, linkage and insights computed from the stored data (the Compute Metrics step)."""
