"""The console's people and sessions: organizations, console admins, sign-in and its
throttle, sessions, role access, and API tokens."""
