-- Written by `hub dbt-files` from the feed contract stop_search.yml; do not edit.
-- Police recorded stop and search, from Thames Valley Police: one row per delivered record, each
-- column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("SEARCH_REF"), '')) as record_key,
        *
    from {{ source('raw', 'stop_search') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('stop_search') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('SEARCH_LOCATION') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'stop_search' as source_feed,
        nullif(trim("SEARCH_REF"), '') as event_ref,
        {{ parse_date('"SEARCH_DATE"', '%d/%m/%Y') }} as event_date,
        {{ parse_time('"SEARCH_TIME"', '%H:%M') }} as event_time,
        nullif(trim("SUBJECT_REF"), '') as suspect_ref,
        {{ clean_name('"SUBJECT_SURNAME"') }} as suspect_surname,
        {{ clean_name('"SUBJECT_FORENAME"') }} as suspect_first_name,
        {{ parse_date('"SUBJECT_DOB"', '%d/%m/%Y') }} as suspect_dob,
        {{ canonical_code('"SUBJECT_GENDER"', 'sex_mf') }} as suspect_sex,
        "SUBJECT_GENDER" as suspect_sex_code,
        try_cast("SUBJECT_AGE" as integer) as suspect_age,
        {{ canonical_code('"SUBJECT_ETHNICITY"', 'ethnicity_police') }} as suspect_ethnicity,
        "SUBJECT_ETHNICITY" as suspect_ethnicity_code,
        nullif(trim("OBJECT_OF_SEARCH"), '') as reason,
        nullif(trim("OUTCOME"), '') as outcome,
        nullif(trim("SEARCH_LOCATION"), '') as location_address,
        {{ address_part('SEARCH_LOCATION', 'address_line1') }} as location_address_line1,
        {{ address_part('SEARCH_LOCATION', 'address_line2') }} as location_address_line2,
        {{ address_part('SEARCH_LOCATION', 'town') }} as location_town,
        try_cast("EASTING" as integer) as location_easting,
        try_cast("NORTHING" as integer) as location_northing,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged
