-- Illegal waste processing sites: typed, named and standardised from its contract.
{{ stage_feed('waste_sites') }}
