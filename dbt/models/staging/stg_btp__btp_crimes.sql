-- Crimes on overground trains or at stations: typed, named and standardised from its contract.
{{ stage_feed('btp_crimes') }}
