"""Reporting: turning findings and run results into words, tables and files people read."""
