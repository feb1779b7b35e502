-- Incidents on local buses: typed, named and standardised from its contract.
{{ stage_feed('bus_incidents') }}
