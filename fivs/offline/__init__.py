"""Offline-first capture: the service worker route and the pending-changes bar (JS in fivs/static/js)."""
