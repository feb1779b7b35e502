{{ config(alias='repeat_locations') }}
-- Places where events of one type happened more than once in the release's months: the
-- 100 m squares l2_events publishes (each with 8 or more addresses, never a home of someone in
-- the event), with their areas.

with

events as (

    select * from {{ ref('l2_events') }}

),

final as (

    select
        easting,
        northing,
        lsoa_code,
        lsoa_name,
        ward_name,
        district_name,
        event_type,
        count(*) as events,
        min(event_month) as first_month,
        max(event_month) as last_month
    from events
    where easting is not null
    group by all
    having count(*) > 1

)

select * from final
