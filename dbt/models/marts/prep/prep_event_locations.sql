-- Every event's place twice over: exactly, for Level 3, and depersonalised, for Level 2: its
-- LSOA, ward and district and, only where the gazetteer holds at least 8 addresses in its
-- 100 m grid square within its LSOA, the centre of that square; never finer than the LSOA for
-- an event at the home of anyone in it (docs/disclosure-control.md). Its area follows the
-- best-fit hierarchy of prep_areas.

with

events as (

    select * from {{ ref('int_events') }}

),

located as (

    select * from {{ source('spine', 'event_locations') }}

),

gazetteer as (

    select * from {{ source('reference', 'gazetteer') }}

),

areas as (

    select * from {{ ref('prep_areas') }}

),

event_people as (

    select * from {{ ref('int_event_people') }}

),

homes as (

    select * from {{ source('spine', 'place_matches') }}

),

mentions as (

    select * from {{ ref('int_place_records') }}

),

-- A street's postcode is the one most of its properties have.
street_postcodes as (

    select
        usrn,
        mode(postcode) as postcode
    from gazetteer
    group by usrn

),

placed as (

    select
        e.event_id,
        l.location_method,
        l.uprn,
        l.usrn,
        l.is_property,
        l.easting,
        l.northing,
        l.lsoa_code,
        m.address as location_address,
        coalesce(g.postcode, s.postcode) as postcode
    from events as e
    left join located as l on e.event_id = l.event_id
    left join mentions as m on e.place_record_id = m.place_record_id
    left join gazetteer as g on l.uprn = g.uprn
    left join street_postcodes as s on l.uprn is null and l.usrn = s.usrn

),

-- An event at a home of someone in it: a person record and its home mention share an id.
at_home as (

    select distinct p.event_id
    from placed as p
    inner join event_people as ep on p.event_id = ep.event_id
    inner join homes as h on ep.person_record_id = h.place_record_id
    where p.uprn is not null and h.uprn = p.uprn

),

squares as (

    select
        lsoa_code,
        easting // 100 as square_e,
        northing // 100 as square_n,
        count(*) as addresses
    from gazetteer
    group by all

),

depersonalised as (

    select
        p.*,
        h.event_id is not null as at_home,
        coalesce(h.event_id is null and sq.addresses >= 8, false) as shows_square
    from placed as p
    left join at_home as h on p.event_id = h.event_id
    left join squares as sq
        on
            p.lsoa_code = sq.lsoa_code
            and p.easting // 100 = sq.square_e
            and p.northing // 100 = sq.square_n

),

final as (

    select
        d.event_id,
        d.location_method,
        d.uprn,
        d.usrn,
        d.is_property,
        d.location_address,
        d.postcode,
        d.easting,
        d.northing,
        d.at_home,
        case when d.shows_square then 'grid 100 m' end as published_point,
        case when d.shows_square then ((d.easting // 100) * 100 + 50)::integer end
            as published_easting,
        case when d.shows_square then ((d.northing // 100) * 100 + 50)::integer end
            as published_northing,
        a.lsoa_code,
        a.lsoa_name,
        a.ward_code,
        a.ward_name,
        a.district_code,
        a.district_name
    from depersonalised as d
    left join areas as a on d.lsoa_code = a.lsoa_code

)

select * from final
