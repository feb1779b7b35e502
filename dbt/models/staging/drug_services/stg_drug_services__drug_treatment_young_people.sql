-- Written by `hub dbt-files` from the feed contract drug_treatment_young_people.yml; do not edit.
-- Drug treatment - young people, from Oxfordshire and Berkshire Drug and Alcohol Services
-- (NDTMS): one row per delivered record, each column typed, named by the concept it carries and
-- standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("Episode ID"), '')) as record_key,
        *
    from {{ source('raw', 'drug_treatment_young_people') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('drug_treatment_young_people') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'drug_treatment_young_people' as source_feed,
        nullif(trim("Episode ID"), '') as event_ref,
        nullif(trim("Client ID"), '') as client_ref,
        {{ clean_name('"Forename"') }} as client_first_name,
        {{ clean_name('"Surname"') }} as client_surname,
        {{ parse_date('"Date of Birth"', '%d/%m/%Y') }} as client_dob,
        try_cast("Age" as integer) as client_age,
        {{ canonical_code('"Gender"', 'sex_word') }} as client_sex,
        "Gender" as client_sex_code,
        {{ canonical_code('"Ethnicity"', 'ethnicity_nhs') }} as client_ethnicity,
        "Ethnicity" as client_ethnicity_code,
        {{ clean_postcode('"Postcode"') }} as client_postcode,
        {{ postcode_reason('"Postcode"') }} as client_postcode_reason,
        nullif(trim("Primary Substance"), '') as primary_drug,
        nullif(trim("Secondary Substance"), '') as secondary_drug,
        nullif(trim("Referral Source"), '') as referral_source,
        nullif(trim("Intervention Type"), '') as treatment_type,
        {{ parse_date('"Start Date"', '%d/%m/%Y') }} as event_date,
        {{ parse_date('"Planned Exit Date"', '%d/%m/%Y') }} as planned_discharge,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged
