-- Written by `hub dbt-files` from the feed contract bus_incidents.yml; do not edit.
-- Incidents on local buses, from Reading Buses / Arriva / Stagecoach: one row per delivered
-- record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("Ref"), '')) as record_key,
        *
    from {{ source('raw', 'bus_incidents') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('bus_incidents') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'bus_incidents' as source_feed,
        nullif(trim("Ref"), '') as event_ref,
        nullif(trim("Offence"), '') as event_type,
        {{ parse_date('"Date"', '%Y-%m-%d') }} as event_date,
        {{ parse_time('"Time"', '%H:%M') }} as event_time,
        nullif(trim("Route / Location"), '') as location_description,
        try_cast("X" as integer) as location_easting,
        try_cast("Y" as integer) as location_northing,
        try_cast("Offender Age" as integer) as offender_age,
        {{ canonical_code('"Offender Gender"', 'sex_word') }} as offender_sex,
        "Offender Gender" as offender_sex_code,
        {{ canonical_code('"Offender Ethnicity"', 'ethnicity_ons_label') }} as offender_ethnicity,
        "Offender Ethnicity" as offender_ethnicity_code,
        try_cast("Victim Age" as integer) as victim_age,
        {{ canonical_code('"Victim Gender"', 'sex_word') }} as victim_sex,
        "Victim Gender" as victim_sex_code,
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
