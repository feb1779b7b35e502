-- Prison releases: typed, named and standardised from its contract.
{{ stage_feed('prison_releases') }}
