-- Ambulance calls for service: typed, named and standardised from its contract.
{{ stage_feed('ambulance_calls') }}
