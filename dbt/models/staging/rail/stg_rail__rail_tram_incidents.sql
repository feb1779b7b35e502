-- Written by `hub dbt-files` from the feed contract rail_tram_incidents.yml; do not edit.
-- Incidents on local trains and at stations, from Great Western Railway / Elizabeth line: one
-- row per delivered record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("Incident Number"), '')) as record_key,
        *
    from {{ source('raw', 'rail_tram_incidents') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('rail_tram_incidents') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'rail_tram_incidents' as source_feed,
        nullif(trim("Incident Number"), '') as event_ref,
        nullif(trim("Offence Category"), '') as event_type,
        {{ parse_date('"Incident Date"', '%d-%m-%Y') }} as event_date,
        {{ parse_time('"Incident Time"', '%H:%M') }} as event_time,
        nullif(trim("Location"), '') as location_description,
        try_cast("Easting" as integer) as location_easting,
        try_cast("Northing" as integer) as location_northing,
        try_cast("Offender Age" as integer) as offender_age,
        {{ canonical_code('"Offender Sex"', 'sex_word') }} as offender_sex,
        "Offender Sex" as offender_sex_code,
        {{ canonical_code('"Offender Ethnicity"', 'ethnicity_ons_label') }} as offender_ethnicity,
        "Offender Ethnicity" as offender_ethnicity_code,
        try_cast("Victim Age" as integer) as victim_age,
        {{ canonical_code('"Victim Sex"', 'sex_word') }} as victim_sex,
        "Victim Sex" as victim_sex_code,
        {{ canonical_code('"Victim Ethnicity"', 'ethnicity_ons_label') }} as victim_ethnicity,
        "Victim Ethnicity" as victim_ethnicity_code,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged
