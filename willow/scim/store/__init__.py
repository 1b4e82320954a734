"""SCIM resources in the database: SQL reads and writes per resource type, filters
compiled to SQL, uniqueness. Functions flush and never commit; the view commits once."""
