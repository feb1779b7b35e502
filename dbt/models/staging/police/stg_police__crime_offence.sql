-- Written by `hub dbt-files` from the feed contract crime_offence.yml; do not edit.
-- Police recorded crime - offences, from Thames Valley Police: one row per delivered record,
-- each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("CRIME_REF"), '')) as record_key,
        *
    from {{ source('raw', 'crime_offence') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('crime_offence') }}

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
        'crime_offence' as source_feed,
        nullif(trim("CRIME_REF"), '') as event_ref,
        nullif(trim("HO_CODE"), '') as event_type,
        {{ parse_date('"COMMITTED_FROM_DATE"', '%d/%m/%Y') }} as event_date,
        {{ parse_time('"COMMITTED_FROM_TIME"', '%H:%M') }} as event_time,
        {{ parse_date('"COMMITTED_TO_DATE"', '%d/%m/%Y') }} as event_date_to,
        {{ parse_time('"COMMITTED_TO_TIME"', '%H:%M') }} as event_time_to,
        nullif(trim("LOCATION"), '') as location_address,
        {{ address_part('LOCATION', 'address_line1') }} as location_address_line1,
        {{ address_part('LOCATION', 'address_line2') }} as location_address_line2,
        {{ address_part('LOCATION', 'town') }} as location_town,
        {{ clean_postcode('"LOCATION_POSTCODE"') }} as location_postcode,
        {{ postcode_reason('"LOCATION_POSTCODE"') }} as location_postcode_reason,
        try_cast("EASTING" as integer) as location_easting,
        try_cast("NORTHING" as integer) as location_northing,
        nullif(trim("METHOD_OF_ENTRY"), '') as method_of_entry,
        nullif(trim("PROPERTY_STOLEN"), '') as property_stolen,
        nullif(trim("WEAPON"), '') as weapon,
        nullif(trim("FLAG_DISTRACTION"), '') as flag_distraction,
        nullif(trim("FLAG_DRUGS"), '') as flag_drugs,
        nullif(trim("FLAG_ALCOHOL"), '') as flag_alcohol,
        nullif(trim("FLAG_RACIAL"), '') as flag_racial,
        nullif(trim("FLAG_DOMESTIC"), '') as flag_domestic,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from split

)

select * from staged
