"""The programme calendar: each round's window (phase, programme year, opens, closes), set by admins.

A site's round is late when its window has closed without a submitted consultant audit of that
phase (fivs.calendar.services.round_cells); the board, the API and the consultant's home read it.
"""
