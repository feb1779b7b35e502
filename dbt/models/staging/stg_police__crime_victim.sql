-- Police recorded crime - victims: typed, named and standardised from its contract.
{{ stage_feed('crime_victim') }}
