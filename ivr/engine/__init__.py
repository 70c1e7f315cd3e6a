"""The pure core: what a caller hears, from (call context, menu state, input)."""
