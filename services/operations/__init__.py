"""The operations read model and dashboard: a consumer-only service fed by every events
topic and every dead-letter topic, with its own consumer group and store, rebuildable by
replaying the topics. It publishes nothing."""
