-- Police recorded stop and search: typed, named and standardised from its contract.
{{ stage_feed('stop_search') }}
