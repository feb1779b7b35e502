"""The published tiers: Level 1 (aggregate), Level 2 (pseudonymised), Level 3 (identifiable),
built by the dbt marts and published here as one DuckDB file each, after the checks."""
