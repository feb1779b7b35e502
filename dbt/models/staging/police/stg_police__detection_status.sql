-- Written by `hub dbt-files` from the feed contract detection_status.yml; do not edit.
-- Detection status (outcomes) of recorded offences, from Thames Valley Police: one row per
-- delivered record, each column typed, named by the concept it carries and standardised.

with

delivered as (

    select
        concat_ws('|', coalesce(trim("CRIME_REF"), '')) as record_key,
        *
    from {{ source('raw', 'detection_status') }}

),

source as (

    -- the requests register (docs/rights.md): records erased or restricted left out,
    -- rectified values in place of those delivered
    {{ honour_rights('detection_status') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        record_key,
        'detection_status' as source_feed,
        nullif(trim("CRIME_REF"), '') as event_ref,
        nullif(trim("HO_CODE"), '') as event_type,
        nullif(trim("OUTCOME"), '') as outcome,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at,
        rectified_by
    from source

)

select * from staged
