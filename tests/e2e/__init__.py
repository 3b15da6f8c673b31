"""Smilepost's tests."""
