"""The SCIM protocol as pure functions (RFC 7643 / RFC 7644): schemas, the filter grammar,
PATCH planning, normalisation of what IdPs send, rendering and projection, the
discovery documents and the typed errors. Nothing here imports Flask or the database."""
