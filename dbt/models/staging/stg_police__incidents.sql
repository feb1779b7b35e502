-- Police incident records (command and control): typed, named and standardised from its contract.
{{ stage_feed('incidents') }}
