"""Tencent COS and Cloud Infinite over HTTP: our own signing and client (no Tencent SDK)."""
