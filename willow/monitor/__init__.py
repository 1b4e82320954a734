"""The monitor console: the SCIM request log."""
