"""Rendering: rich tables (report.tables) from plain data; nothing here trains or prints."""
