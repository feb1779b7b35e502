-- Police recorded crime - offences: typed, named and standardised from its contract.
{{ stage_feed('crime_offence') }}
