-- Written by `hub dbt-files` from the feed contract asb.yml; do not edit.
-- Council-recorded ASB and environmental crime, from District and unitary councils (community
-- safety teams): one row per delivered record, each column typed, named by the concept it
-- carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("Case Ref"), '')) as record_key,
        *
    from {{ source('raw', 'asb') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('asb') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('Keeper Address') }},
        {{ address_steps('Location') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'asb' as source_feed,
        nullif(trim("Case Ref"), '') as event_ref,
        nullif(trim("Incident Type"), '') as event_type,
        {{ parse_date('"Date Reported"', '%d/%m/%Y') }} as event_date,
        {{ parse_time('"Time Reported"', '%H:%M') }} as event_time,
        try_cast("Damage Value (GBP)" as integer) as damage_value,
        nullif(trim("Waste Size"), '') as waste_size,
        nullif(trim("Vehicle"), '') as vehicle,
        nullif(trim("Keeper Address"), '') as keeper_address,
        {{ address_part('Keeper Address', 'address_line1') }} as keeper_address_line1,
        {{ address_part('Keeper Address', 'address_line2') }} as keeper_address_line2,
        {{ address_part('Keeper Address', 'town') }} as keeper_town,
        nullif(trim("Location"), '') as location_address,
        {{ address_part('Location', 'address_line1') }} as location_address_line1,
        {{ address_part('Location', 'address_line2') }} as location_address_line2,
        {{ address_part('Location', 'town') }} as location_town,
        {{ clean_postcode('"Postcode"') }} as location_postcode,
        {{ postcode_reason('"Postcode"') }} as location_postcode_reason,
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
