"""Rendering: events and requests → terminal (plain, json, tui) and untrusted text → safe text."""
