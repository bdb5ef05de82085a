"""Prefect flows over the narrator library. Thin: every step is a plain narrator function."""
