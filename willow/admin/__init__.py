"""The admin console: sign-in, API tokens, directory."""
