-- Council-recorded ASB and environmental crime: typed, named and standardised from its contract.
{{ stage_feed('asb') }}
