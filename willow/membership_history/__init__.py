"""A user's group membership history: every change a SCIM request made to her groups."""
