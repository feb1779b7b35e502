-- Drug tests on arrest for trigger offences: typed, named and standardised from its contract.
{{ stage_feed('drug_tests') }}
