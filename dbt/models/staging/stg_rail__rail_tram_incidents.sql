-- Incidents on local trains and at stations: typed, named and standardised from its contract.
{{ stage_feed('rail_tram_incidents') }}
