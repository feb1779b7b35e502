-- Probation OASys assessments: typed, named and standardised from its contract.
{{ stage_feed('oasys') }}
