"""The process host: builds one service process (FastAPI + uvicorn, the faust agent, the outbox
relay, background workers, authentication, /health, /metrics) from the layers below it
(contracts, eventing, security, web). Only the services' app.py and __main__.py use it."""
