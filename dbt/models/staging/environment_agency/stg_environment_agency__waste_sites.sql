-- Written by `hub dbt-files` from the feed contract waste_sites.yml; do not edit.
-- Illegal waste processing sites, from Environment Agency (Thames area): one row per delivered
-- record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("SITE_REF"), '')) as record_key,
        *
    from {{ source('raw', 'waste_sites') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('waste_sites') }}

),

split as (

    -- each address delivered on one line, cut into its parts step by step
    select
        {{ address_steps('SITE_ADDRESS') }},
        *
    from source

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'waste_sites' as source_feed,
        nullif(trim("SITE_REF"), '') as event_ref,
        nullif(trim("SITE_NAME"), '') as location_name,
        {{ split_name('"OWNER_NAME"', 'surname', 'surname_first') }} as owner_surname,
        {{ split_name('"OWNER_NAME"', 'first_name', 'surname_first') }} as owner_first_name,
        nullif(trim("WASTE_TYPE"), '') as waste_type,
        {{ parse_date('"DATE_IDENTIFIED"', '%d/%m/%Y') }} as event_date,
        nullif(trim("SITE_ADDRESS"), '') as location_address,
        {{ address_part('SITE_ADDRESS', 'address_line1') }} as location_address_line1,
        {{ address_part('SITE_ADDRESS', 'address_line2') }} as location_address_line2,
        {{ address_part('SITE_ADDRESS', 'town') }} as location_town,
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
