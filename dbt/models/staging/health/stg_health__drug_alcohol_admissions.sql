-- Written by `hub dbt-files` from the feed contract drug_alcohol_admissions.yml; do not edit.
-- Hospital admissions for drug- and alcohol-related harm, from Oxford University Hospitals
-- (inpatient): one row per delivered record, each column typed, named by the concept it carries
-- and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("spell_id"), '')) as record_key,
        *
    from {{ source('raw', 'drug_alcohol_admissions') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('drug_alcohol_admissions') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'drug_alcohol_admissions' as source_feed,
        nullif(trim("spell_id"), '') as event_ref,
        nullif(trim("local_patient_id"), '') as patient_ref,
        {{ clean_name('"patient_forename"') }} as patient_first_name,
        {{ clean_name('"patient_surname"') }} as patient_surname,
        {{ parse_date('"person_birth_date"', '%Y-%m-%d') }} as patient_dob,
        try_cast("age_on_admission" as integer) as patient_age,
        {{ canonical_code('"person_stated_gender_code"', 'sex_nhs') }} as patient_sex,
        "person_stated_gender_code" as patient_sex_code,
        {{ canonical_code('"ethnic_category_code"', 'ethnicity_nhs') }} as patient_ethnicity,
        "ethnic_category_code" as patient_ethnicity_code,
        {{ clean_postcode('"postcode_of_usual_address"') }} as patient_postcode,
        {{ postcode_reason('"postcode_of_usual_address"') }} as patient_postcode_reason,
        nullif(trim("primary_diagnosis"), '') as admission_reason,
        {{ parse_date('"admission_date"', '%Y-%m-%d') }} as event_date,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged
