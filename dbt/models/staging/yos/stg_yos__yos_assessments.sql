-- Written by `hub dbt-files` from the feed contract yos_assessments.yml; do not edit.
-- Youth Offending Service assessments, from Youth Justice Services (Oxfordshire, Berkshire,
-- Buckinghamshire, Milton Keynes): one row per delivered record, each column typed, named by the
-- concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("assessment_no"), '')) as record_key,
        *
    from {{ source('raw', 'yos_assessments') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('yos_assessments') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'yos_assessments' as source_feed,
        nullif(trim("yos_id"), '') as client_ref,
        nullif(trim("assessment_no"), '') as event_ref,
        {{ clean_name('"first_name"') }} as client_first_name,
        {{ clean_name('"last_name"') }} as client_surname,
        {{ parse_date('"dob"', '%d/%m/%Y') }} as client_dob,
        try_cast("age" as integer) as client_age,
        {{ canonical_code('"gender"', 'sex_word') }} as client_sex,
        "gender" as client_sex_code,
        {{ clean_postcode('"postcode"') }} as client_postcode,
        {{ postcode_reason('"postcode"') }} as client_postcode_reason,
        nullif(trim("offence"), '') as offence,
        nullif(trim("persistent_offender"), '') as persistent,
        {{ parse_date('"assessment_date"', '%d/%m/%Y') }} as event_date,
        nullif(trim("asset_living_arrangements"), '') as asset_living_arrangements,
        nullif(trim("asset_family_personal_relationships"), '') as asset_family_personal_relationships,
        nullif(trim("asset_education_training_employment"), '') as asset_education_training_employment,
        nullif(trim("asset_neighbourhood"), '') as asset_neighbourhood,
        nullif(trim("asset_lifestyle"), '') as asset_lifestyle,
        nullif(trim("asset_substance_use"), '') as asset_substance_use,
        nullif(trim("asset_physical_health"), '') as asset_physical_health,
        nullif(trim("asset_emotional_mental_health"), '') as asset_emotional_mental_health,
        nullif(trim("asset_perception_of_self_others"), '') as asset_perception_of_self_others,
        nullif(trim("asset_thinking_behaviour"), '') as asset_thinking_behaviour,
        nullif(trim("asset_attitudes_to_offending"), '') as asset_attitudes_to_offending,
        nullif(trim("asset_motivation_to_change"), '') as asset_motivation_to_change,
        nullif(trim("asset_risk_of_serious_harm"), '') as asset_risk_of_serious_harm,
        nullif(trim("asset_vulnerability"), '') as asset_vulnerability,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged
