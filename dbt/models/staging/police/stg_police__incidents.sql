-- Written by `hub dbt-files` from the feed contract incidents.yml; do not edit.
-- Police incident records (command and control), from Thames Valley Police: one row per
-- delivered record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("INC_URN"), '')) as record_key,
        *
    from {{ source('raw', 'incidents') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('incidents') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('INC_LOCATION') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'incidents' as source_feed,
        nullif(trim("INC_URN"), '') as event_ref,
        nullif(trim("INC_TYPE"), '') as event_type,
        nullif(trim("DOMESTIC_FLAG"), '') as domestic,
        {{ parse_date('"INC_DATE"', '%Y-%m-%d') }} as event_date,
        {{ parse_time('"INC_TIME"', '%H:%M') }} as event_time,
        nullif(trim("INC_LOCATION"), '') as location_address,
        {{ address_part('INC_LOCATION', 'address_line1') }} as location_address_line1,
        {{ address_part('INC_LOCATION', 'address_line2') }} as location_address_line2,
        {{ address_part('INC_LOCATION', 'town') }} as location_town,
        try_cast("INC_EASTING" as integer) as location_easting,
        try_cast("INC_NORTHING" as integer) as location_northing,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged
