-- A&E attendances for injuries from an assault: typed, named and standardised from its contract.
{{ stage_feed('ae_assaults') }}
