-- Written by `hub dbt-files` from the feed contract illegal_dumping.yml; do not edit.
-- Illegal dumping of waste, from Environment Agency (Thames area): one row per delivered record,
-- each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("INCIDENT_REF"), '')) as record_key,
        *
    from {{ source('raw', 'illegal_dumping') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('illegal_dumping') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('LOCATION') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'illegal_dumping' as source_feed,
        nullif(trim("INCIDENT_REF"), '') as event_ref,
        nullif(trim("INCIDENT_TYPE"), '') as event_type,
        {{ parse_date('"FROM_DATE"', '%Y-%m-%d') }} as event_date,
        {{ parse_time('"FROM_TIME"', '%H:%M') }} as event_time,
        {{ parse_date('"TO_DATE"', '%Y-%m-%d') }} as event_date_to,
        {{ parse_time('"TO_TIME"', '%H:%M') }} as event_time_to,
        nullif(trim("LOCATION"), '') as location_address,
        {{ address_part('LOCATION', 'address_line1') }} as location_address_line1,
        {{ address_part('LOCATION', 'address_line2') }} as location_address_line2,
        {{ address_part('LOCATION', 'town') }} as location_town,
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
