-- Written by `hub dbt-files` from the feed contract crime_victim.yml; do not edit.
-- Police recorded crime - victims, from Thames Valley Police: one row per delivered record, each
-- column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("CRIME_REF"), ''), coalesce(trim("VICTIM_REF"), '')) as record_key,
        *
    from {{ source('raw', 'crime_victim') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('crime_victim') }}

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
        'crime_victim' as source_feed,
        nullif(trim("CRIME_REF"), '') as event_ref,
        nullif(trim("VICTIM_REF"), '') as victim_ref,
        {{ clean_name('"SURNAME"') }} as victim_surname,
        {{ clean_name('"FORENAMES"') }} as victim_first_name,
        {{ parse_date('"DOB"', '%d/%m/%Y') }} as victim_dob,
        try_cast("AGE" as integer) as victim_age,
        {{ canonical_code('"GENDER"', 'sex_mf') }} as victim_sex,
        "GENDER" as victim_sex_code,
        {{ canonical_code('"ETHNICITY"', 'ethnicity_police') }} as victim_ethnicity,
        "ETHNICITY" as victim_ethnicity_code,
        nullif(trim("RELATIONSHIP_TO_OFFENDER"), '') as relationship,
        nullif(trim("OCCUPATION"), '') as victim_occupation,
        nullif(trim("HOME_ADDRESS"), '') as victim_address,
        {{ address_part('HOME_ADDRESS', 'address_line1') }} as victim_address_line1,
        {{ address_part('HOME_ADDRESS', 'address_line2') }} as victim_address_line2,
        {{ address_part('HOME_ADDRESS', 'town') }} as victim_town,
        {{ clean_postcode('"HOME_POSTCODE"') }} as victim_postcode,
        {{ postcode_reason('"HOME_POSTCODE"') }} as victim_postcode_reason,
        try_cast("HOME_EASTING" as integer) as victim_easting,
        try_cast("HOME_NORTHING" as integer) as victim_northing,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged
