"""Event contracts shared by every Continuum service.

One frozen pydantic model per event (``events_*`` modules), the CloudEvents 1.0
envelope they travel in (``envelope``), the topic registry (``topics``) and the
catalogue that maps CloudEvents ``type`` strings to models (``catalogue``), and
the upcasters that read an older version of an event as the current one (``upcasting``).
Events carry ids, codes, scores and times: never names, birth dates, contact
details or clinical narrative.
"""
