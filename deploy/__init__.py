"""Running Continuum locally: the Kafka broker assembled from Maven Central, the Prefect
server, the flow-serving process and the four services (``python -m deploy --help``)."""
