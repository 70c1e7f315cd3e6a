"""ivr: a contact-center IVR for regional wallet support hotlines, answering Twilio webhooks."""

__version__ = "0.1.0"
