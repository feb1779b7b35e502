-- Drug treatment - young people: typed, named and standardised from its contract.
{{ stage_feed('drug_treatment_young_people') }}
