"""The HTTP edge shared by every service: request size limits and the documented error answers."""
