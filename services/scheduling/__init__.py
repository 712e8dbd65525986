"""Scheduling: places planned sessions inside participants' availability, tracks
attendance and hours. Publishes ``continuum.scheduling.events``."""
