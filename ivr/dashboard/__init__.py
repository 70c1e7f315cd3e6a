"""The supervisors' wallboard: live queue and call figures per region and language, behind a
sign-in (`/login`, `/dashboard`, `/dashboard/events`). `install_wallboard` adds it to the app."""

from ivr.dashboard.routes import install_wallboard

__all__ = ["install_wallboard"]
