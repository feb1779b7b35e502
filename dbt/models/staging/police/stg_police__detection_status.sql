-- Written by `hub dbt-files` from the feed contract detection_status.yml; do not edit.
-- Detection status (outcomes) of recorded offences, from Thames Valley Police: one row per
-- delivered record, each column typed, named by the concept it carries and standardised.

with

source as (

    select * from {{ source('raw', 'detection_status') }}

),

staged as (

    select
        _supply_id || '#' || _row_number as record_id,
        'detection_status' as source_feed,
        nullif(trim("CRIME_REF"), '') as event_ref,
        nullif(trim("HO_CODE"), '') as event_type,
        nullif(trim("OUTCOME"), '') as outcome,
        _supply_id as supply_id,
        _row_number as row_number,
        _partition as period,
        _loaded_at as loaded_at
    from source

)

select * from staged
