"""Privacy: words that identify or describe a participant travel in events sealed for that
participant (envelope encryption), and deleting the participant's data key (crypto-shredding)
makes every copy unreadable at once — on the topics, in the consumers' stores, in backups.

- ``ports``: what the services need of key management (the protocols);
- ``master_key_file``, ``data_key_store``: the default adapters (a master key in a file,
  per-participant data keys wrapped in a SQLite file shared by one deployment's services);
- ``sealing``: seal and open a value; ``errors``: why a value cannot be opened;
- ``settings``: where the keys live, and the factory the services call.
"""
