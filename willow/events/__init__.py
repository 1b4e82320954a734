"""Provisioning events (issue 21): every effect of a change, written in the change's own
transaction (a transactional outbox), read by the events API and the webhook deliveries."""
