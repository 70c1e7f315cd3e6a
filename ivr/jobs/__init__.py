"""Work outside the webhooks: placing callbacks, mailing voicemails, purging old data."""
