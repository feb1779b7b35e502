-- Youth Offending Service assessments: typed, named and standardised from its contract.
{{ stage_feed('yos_assessments') }}
