"""Loopback servers speaking the real platform protocols, and the seeded Atlas community."""
