-- School exclusions: typed, named and standardised from its contract.
{{ stage_feed('school_exclusions') }}
