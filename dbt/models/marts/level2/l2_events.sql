{{ config(alias='events') }}
-- Every event of every feed, depersonalised: its type, date, hour and day of week, and
-- where it happened to the nearest safe point (prep_event_locations). The event key is a
-- keyed pseudonym of the hub's event ID, which holds the agency's reference.

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
        e.event_date,
        e.period as event_month,
        hour(e.event_time)::integer as event_hour,
        dayname(e.event_date) as day_of_week,
        l.is_property,
        l.published_postcode as postcode,
        l.published_sector as postcode_sector,
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
