-- Written by `hub dbt-files` from the feed contract drug_treatment_adults.yml; do not edit.
-- Drug treatment - adults, from Oxfordshire and Berkshire Drug and Alcohol Services (NDTMS): one
-- row per delivered record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("EPISODEID"), '')) as record_key,
        *
    from {{ source('raw', 'drug_treatment_adults') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('drug_treatment_adults') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'drug_treatment_adults' as source_feed,
        nullif(trim("EPISODEID"), '') as event_ref,
        nullif(trim("CLIENTID"), '') as client_ref,
        {{ clean_name('"FORENAME"') }} as client_first_name,
        {{ clean_name('"SURNAME"') }} as client_surname,
        {{ parse_date('"DOB"', '%Y-%m-%d') }} as client_dob,
        try_cast("AGE" as integer) as client_age,
        {{ canonical_code('"SEX"', 'sex_word') }} as client_sex,
        "SEX" as client_sex_code,
        {{ canonical_code('"ETHNIC"', 'ethnicity_nhs') }} as client_ethnicity,
        "ETHNIC" as client_ethnicity_code,
        {{ clean_postcode('"PC"') }} as client_postcode,
        {{ postcode_reason('"PC"') }} as client_postcode_reason,
        nullif(trim("DRUG1"), '') as primary_drug,
        nullif(trim("DRUG2"), '') as secondary_drug,
        nullif(trim("REFLD"), '') as referral_source,
        nullif(trim("MODAL_TYPE"), '') as treatment_type,
        {{ parse_date('"MODST"', '%Y-%m-%d') }} as event_date,
        {{ parse_date('"PLANNED_DISCHARGE"', '%Y-%m-%d') }} as planned_discharge,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged
