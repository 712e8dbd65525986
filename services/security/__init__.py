"""Who may call the APIs: bearer tokens (JWT), roles and their permissions, the participant
scope of a token (tenant and programs), and the append-only audit trail of every access."""
