-- Illegal dumping of waste: typed, named and standardised from its contract.
{{ stage_feed('illegal_dumping') }}
