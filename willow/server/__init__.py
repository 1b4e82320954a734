"""The server runtime: serving with waitress, the WSGI layers in front of Flask
(proxy headers, host check, request gate, security headers, tracing), the access log,
error pages, rate limits and the install check."""
