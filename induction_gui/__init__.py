"""Induction Head Explorer."""
