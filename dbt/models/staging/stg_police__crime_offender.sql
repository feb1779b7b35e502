-- Police recorded crime - offenders/accused: typed, named and standardised from its contract.
{{ stage_feed('crime_offender') }}
