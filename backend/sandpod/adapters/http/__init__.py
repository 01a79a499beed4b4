"""Outbound HTTP: webhook deliveries and the name lookups their SSRF checks need."""
