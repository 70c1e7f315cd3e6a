"""The HTTP edge: Twilio's webhooks in, TwiML out."""
