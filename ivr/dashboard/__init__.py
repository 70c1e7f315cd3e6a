"""The supervisors' wallboard: live figures per line, behind a sign-in.

Queue and call figures per region and language (`/dashboard`, `/dashboard/events`), after
`/login`. `install_wallboard` adds it to the app."""

from ivr.dashboard.routes import install_wallboard

__all__ = ["install_wallboard"]
