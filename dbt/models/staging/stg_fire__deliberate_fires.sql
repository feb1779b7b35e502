-- Deliberate fires, malicious calls and assaults on staff: typed, named and standardised from its contract.
{{ stage_feed('deliberate_fires') }}
