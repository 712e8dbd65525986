"""Eventing plumbing shared by the services: settings, the service database with its
transactional outbox and processed-event record, the outbox relay, the idempotent
consumer with dead letters, topic creation and logging."""
