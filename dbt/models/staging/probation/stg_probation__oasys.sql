-- Written by `hub dbt-files` from the feed contract oasys.yml; do not edit.
-- Probation OASys assessments, from Probation Service (Thames Valley region): one row per
-- delivered record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("ASSESSMENT_ID"), '')) as record_key,
        *
    from {{ source('raw', 'oasys') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('oasys') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'oasys' as source_feed,
        nullif(trim("CRN"), '') as client_ref,
        nullif(trim("ASSESSMENT_ID"), '') as event_ref,
        {{ clean_name('"FORENAME"') }} as client_first_name,
        {{ clean_name('"SURNAME"') }} as client_surname,
        {{ parse_date('"DATE_OF_BIRTH"', '%d-%b-%Y') }} as client_dob,
        try_cast("AGE" as integer) as client_age,
        {{ canonical_code('"GENDER"', 'sex_mf') }} as client_sex,
        "GENDER" as client_sex_code,
        {{ clean_postcode('"POSTCODE"') }} as client_postcode,
        {{ postcode_reason('"POSTCODE"') }} as client_postcode_reason,
        nullif(trim("OFFENCE_DESC"), '') as offence,
        nullif(trim("LTO_EMOTIONAL"), '') as lto_emotional,
        nullif(trim("LTO_THINKING"), '') as lto_thinking,
        nullif(trim("LTO_ATTITUDES"), '') as lto_attitudes,
        nullif(trim("LTO_ACCOMMODATION"), '') as lto_accommodation,
        nullif(trim("LTO_ETE"), '') as lto_ete,
        nullif(trim("LTO_FINANCE"), '') as lto_finance,
        nullif(trim("LTO_RELATIONSHIPS"), '') as lto_relationships,
        nullif(trim("LTO_LIFESTYLE"), '') as lto_lifestyle,
        nullif(trim("LTO_DRUGS"), '') as lto_drugs,
        nullif(trim("LTO_ALCOHOL"), '') as lto_alcohol,
        {{ parse_date('"ASSESSMENT_DATE"', '%d-%b-%Y') }} as event_date,
        nullif(trim("OGRS_BAND"), '') as reconviction_risk,
        nullif(trim("ROSH"), '') as harm_risk,
        try_cast("SUPERVISION_MONTHS" as integer) as supervision_months,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged
