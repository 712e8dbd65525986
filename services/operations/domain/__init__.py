"""The pure core of the ops read model: projecting events into rows, and figures from rows."""
