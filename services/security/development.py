"""The development deployment's defaults: the demo tenant and its programs (the programs of
services/planning/config/programs.yaml), used by the dev token of the dashboard and the clients."""

DEV_TENANT = "demo-network"
DEV_PROGRAMS = ("adult-mh", "substance-use", "adolescent")
