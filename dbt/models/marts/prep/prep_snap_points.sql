-- The points a Level 2 location may be moved to, each with the addresses around it: every
-- 100 m grid square's centre, every postcode's and postcode sector's centroid, every LSOA's.
-- A point is only used when at least 8 addresses lie around it (the police.uk rule).

with

gazetteer as (

    select
        *,
        {{ postcode_sector('postcode') }} as sector
    from {{ source('reference', 'gazetteer') }}

),

grid as (

    select
        'grid' as basis,
        (easting // 100) * 100 || ',' || (northing // 100) * 100 as point_key,
        (easting // 100) * 100 + 50 as easting,
        (northing // 100) * 100 + 50 as northing,
        count(*) as addresses
    from gazetteer
    group by all

),

postcodes as (

    select
        'postcode' as basis,
        postcode as point_key,
        round(avg(easting))::integer as easting,
        round(avg(northing))::integer as northing,
        count(*) as addresses
    from gazetteer
    group by all

),

sectors as (

    select
        'sector' as basis,
        sector as point_key,
        round(avg(easting))::integer as easting,
        round(avg(northing))::integer as northing,
        count(*) as addresses
    from gazetteer
    group by all

),

lsoas as (

    select
        'lsoa' as basis,
        lsoa_code as point_key,
        round(avg(easting))::integer as easting,
        round(avg(northing))::integer as northing,
        count(*) as addresses
    from gazetteer
    group by all

)

select * from grid
union all
select * from postcodes
union all
select * from sectors
union all
select * from lsoas
