{{ config(alias='events') }}
-- Every event of every feed, depersonalised: its type, month, day of week and hour, and
-- where it happened: its area and, where 8 or more addresses share it, its 100 m square
-- (prep_event_locations). No date and no person: an event cannot be joined to the people in
-- it (docs/disclosure-control.md). The event key is a keyed pseudonym of the hub's event ID,
-- which holds the agency's reference.

with

events as (

    select * from {{ ref('prep_events') }}

),

locations as (

    select * from {{ ref('prep_event_locations') }}

),

final as (

    select
        pseudonym(e.event_id) as event_key,
        e.agency,
        e.source_feed,
        e.event_type,
        e.category,
        e.category_label,
        e.offence_group,
        e.knife_enabled,
        e.period as event_month,
        hour(e.event_time)::integer as event_hour,
        dayname(e.event_date) as day_of_week,
        l.is_property,
        l.published_easting as easting,
        l.published_northing as northing,
        l.published_point as point_basis,
        l.lsoa_code,
        l.lsoa_name,
        l.ward_code,
        l.ward_name,
        l.district_code,
        l.district_name
    from events as e
    left join locations as l on e.event_id = l.event_id

)

select * from final
