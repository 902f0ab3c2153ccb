"""The event log, as admins read it: who did what, when, with old and new values."""
