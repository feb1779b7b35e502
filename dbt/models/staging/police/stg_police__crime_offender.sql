-- Written by `hub dbt-files` from the feed contract crime_offender.yml; do not edit.
-- Police recorded crime - offenders/accused, from Thames Valley Police: one row per delivered
-- record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("CRIME_REF"), ''), coalesce(trim("OFFENDER_REF"), '')) as record_key,
        *
    from {{ source('raw', 'crime_offender') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('crime_offender') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('HOME_ADDRESS') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'crime_offender' as source_feed,
        nullif(trim("CRIME_REF"), '') as event_ref,
        nullif(trim("OFFENDER_REF"), '') as offender_ref,
        {{ clean_name('"SURNAME"') }} as offender_surname,
        {{ clean_name('"FORENAMES"') }} as offender_first_name,
        {{ parse_date('"DOB"', '%d/%m/%Y') }} as offender_dob,
        try_cast("AGE" as integer) as offender_age,
        {{ canonical_code('"GENDER"', 'sex_mf') }} as offender_sex,
        "GENDER" as offender_sex_code,
        {{ canonical_code('"ETHNICITY"', 'ethnicity_police') }} as offender_ethnicity,
        "ETHNICITY" as offender_ethnicity_code,
        nullif(trim("OCCUPATION"), '') as offender_occupation,
        nullif(trim("HOME_ADDRESS"), '') as offender_address,
        {{ address_part('HOME_ADDRESS', 'address_line1') }} as offender_address_line1,
        {{ address_part('HOME_ADDRESS', 'address_line2') }} as offender_address_line2,
        {{ address_part('HOME_ADDRESS', 'town') }} as offender_town,
        {{ clean_postcode('"HOME_POSTCODE"') }} as offender_postcode,
        {{ postcode_reason('"HOME_POSTCODE"') }} as offender_postcode_reason,
        try_cast("HOME_EASTING" as integer) as offender_easting,
        try_cast("HOME_NORTHING" as integer) as offender_northing,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged
