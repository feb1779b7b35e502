{{ config(alias='repeat_locations') }}
-- Places where events of one type happened more than once in the release's months, at the
-- depersonalised location of l2_events (postcode or sector, and the safe point).

with

events as (

    select * from {{ ref('l2_events') }}

),

final as (

    select
        postcode,
        easting,
        northing,
        point_basis,
        lsoa_code,
        lsoa_name,
        ward_name,
        district_name,
        event_type,
        count(*) as events,
        min(event_date) as first_date,
        max(event_date) as last_date
    from events
    where postcode is not null or easting is not null
    group by all
    having count(*) > 1

)

select * from final
