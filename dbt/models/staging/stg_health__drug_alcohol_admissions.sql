-- Hospital admissions for drug- and alcohol-related harm: typed, named and standardised from its contract.
{{ stage_feed('drug_alcohol_admissions') }}
