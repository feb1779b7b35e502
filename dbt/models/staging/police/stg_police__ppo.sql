-- Written by `hub dbt-files` from the feed contract ppo.yml; do not edit.
-- Prolific and other Priority Offenders, from Thames Valley Police (Integrated Offender
-- Management): one row per delivered record, each column typed, named by the concept it carries
-- and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("OFFENDER_REF"), '')) as record_key,
        *
    from {{ source('raw', 'ppo') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('ppo') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('ADDRESS', with_postcode=true) }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'ppo' as source_feed,
        nullif(trim("OFFENDER_REF"), '') as offender_ref,
        {{ split_name('"NAME"', 'surname', 'surname_first') }} as offender_surname,
        {{ split_name('"NAME"', 'first_name', 'surname_first') }} as offender_first_name,
        {{ canonical_code('"GENDER"', 'sex_mf') }} as offender_sex,
        "GENDER" as offender_sex_code,
        {{ parse_date('"DOB"', '%d/%m/%Y') }} as offender_dob,
        {{ canonical_code('"ETHNICITY"', 'ethnicity_police') }} as offender_ethnicity,
        "ETHNICITY" as offender_ethnicity_code,
        nullif(trim("OCCUPATION"), '') as offender_occupation,
        nullif(trim("OFFENCES"), '') as offences,
        nullif(trim("STATUS"), '') as status,
        nullif(trim("ADDRESS"), '') as offender_address,
        {{ address_part('ADDRESS', 'address_line1') }} as offender_address_line1,
        {{ address_part('ADDRESS', 'address_line2') }} as offender_address_line2,
        {{ address_part('ADDRESS', 'town') }} as offender_town,
        {{ address_part('ADDRESS', 'postcode') }} as offender_postcode,
        {{ address_part('ADDRESS', 'postcode_reason') }} as offender_postcode_reason,
        try_cast("EASTING" as integer) as offender_easting,
        try_cast("NORTHING" as integer) as offender_northing,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged
