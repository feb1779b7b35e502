"""Governed access to Levels 2 and 3 (docs/access.md): the access policy, the query service
and its sandbox, the output airlock and the hash-chained audit trail. No Dagster here."""
