"""Mail to the accounts' contacts: statements at close, budget alerts."""
