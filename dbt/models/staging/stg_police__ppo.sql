-- Prolific and other Priority Offenders: typed, named and standardised from its contract.
{{ stage_feed('ppo') }}
