"""The webhooks and operations routes, one module per area."""
