-- Written by `hub dbt-files` from the feed contract deliberate_fires.yml; do not edit.
-- Deliberate fires, malicious calls and assaults on staff, from Royal Berkshire, Oxfordshire and
-- Buckinghamshire Fire and Rescue Services: one row per delivered record, each column typed,
-- named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("IncidentNumber"), '')) as record_key,
        *
    from {{ source('raw', 'deliberate_fires') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('deliberate_fires') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('IncidentAddress') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'deliberate_fires' as source_feed,
        nullif(trim("IncidentNumber"), '') as event_ref,
        nullif(trim("IncidentType"), '') as event_type,
        {{ parse_date('"CallDate"', '%Y-%m-%d') }} as event_date,
        {{ parse_time('"CallTime"', '%H:%M') }} as event_time,
        try_cast("Casualties" as integer) as casualties,
        nullif(trim("IncidentAddress"), '') as location_address,
        {{ address_part('IncidentAddress', 'address_line1') }} as location_address_line1,
        {{ address_part('IncidentAddress', 'address_line2') }} as location_address_line2,
        {{ address_part('IncidentAddress', 'town') }} as location_town,
        try_cast("Easting" as integer) as location_easting,
        try_cast("Northing" as integer) as location_northing,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged
