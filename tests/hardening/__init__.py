"""Hardening tests (issue 8): hostile mail, hostile queries, XSS payloads and load."""
