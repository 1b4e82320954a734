"""What an admin needs to connect an identity provider, shown where tokens are made.

- ``base_url``: the SCIM base URL to paste into the IdP, and whether it is the configured
  one or only the address this browser used (pure);
- ``sso_status``: whether provisioned users can sign in yet, in the words every page and
  ``check`` use (pure);
- ``health``: each token's connection health, read from the request log in one query.
"""
