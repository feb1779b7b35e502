-- Every event's place twice over: exactly, for Level 3, and depersonalised, for Level 2 (no
-- house number or name; the full postcode only where the gazetteer holds at least 4
-- properties in it, else its sector; the point moved to the centre of its 100 m grid square,
-- or else to the centroid of its postcode, sector or LSOA, whichever first has at least 8
-- addresses around it). Its area follows the best-fit hierarchy of prep_areas.

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

snap_points as (

    select * from {{ ref('prep_snap_points') }}

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

postcodes as (

    select
        postcode,
        count(*) as properties
    from gazetteer
    group by postcode

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

depersonalised as (

    select
        p.*,
        case
            when pc.properties >= 4 then p.postcode
            else {{ postcode_sector('p.postcode') }}
        end as published_postcode,
        case
            when grid.addresses >= 8 then 'grid 100 m'
            when by_postcode.addresses >= 8 then 'postcode centroid'
            when by_sector.addresses >= 8 then 'sector centroid'
            when by_lsoa.addresses >= 8 then 'LSOA centroid'
        end as published_point,
        case
            when grid.addresses >= 8 then grid.easting
            when by_postcode.addresses >= 8 then by_postcode.easting
            when by_sector.addresses >= 8 then by_sector.easting
            when by_lsoa.addresses >= 8 then by_lsoa.easting
        end as published_easting,
        case
            when grid.addresses >= 8 then grid.northing
            when by_postcode.addresses >= 8 then by_postcode.northing
            when by_sector.addresses >= 8 then by_sector.northing
            when by_lsoa.addresses >= 8 then by_lsoa.northing
        end as published_northing
    from placed as p
    left join postcodes as pc on p.postcode = pc.postcode
    left join snap_points as grid
        on
            grid.basis = 'grid'
            and grid.point_key = (p.easting // 100) * 100 || ',' || (p.northing // 100) * 100
    left join snap_points as by_postcode
        on by_postcode.basis = 'postcode' and p.postcode = by_postcode.point_key
    left join snap_points as by_sector
        on
            by_sector.basis = 'sector'
            and by_sector.point_key = {{ postcode_sector('p.postcode') }}
    left join snap_points as by_lsoa
        on by_lsoa.basis = 'lsoa' and p.lsoa_code = by_lsoa.point_key

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
        d.published_postcode,
        {{ postcode_sector('d.postcode') }} as published_sector,
        d.published_point,
        d.published_easting,
        d.published_northing,
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
