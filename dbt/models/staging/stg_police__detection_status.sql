-- Detection status (outcomes) of recorded offences: typed, named and standardised from its contract.
{{ stage_feed('detection_status') }}
