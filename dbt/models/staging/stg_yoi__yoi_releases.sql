-- Young Offender Institution releases: typed, named and standardised from its contract.
{{ stage_feed('yoi_releases') }}
