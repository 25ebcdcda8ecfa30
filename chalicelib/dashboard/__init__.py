"""The operator's dashboard: the caller's streams with their health, the orchestrators, payments, a plot over time."""
