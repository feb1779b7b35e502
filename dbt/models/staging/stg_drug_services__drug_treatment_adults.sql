-- Drug treatment - adults: typed, named and standardised from its contract.
{{ stage_feed('drug_treatment_adults') }}
