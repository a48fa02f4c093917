"""Team insights: the data they are drawn from, the prompt, and the generators (Bedrock, offline)."""
