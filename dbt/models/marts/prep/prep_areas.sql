-- Every LSOA with the ward and local authority district it best fits (the one most of its
-- properties lie in, as ONS best-fit lookups do) and its residents. Level 1 adds counts up
-- through this one hierarchy, so an LSOA always sums into its ward and a ward into its
-- district, which disclosure control relies on.

with

gazetteer as (

    select * from {{ source('reference', 'gazetteer') }}

),

population as (

    select * from {{ source('reference', 'population') }}

),

lsoa_ward as (

    select
        lsoa_code,
        any_value(lsoa_name) as lsoa_name,
        arg_max(ward_code, properties) as ward_code
    from (
        select
            lsoa_code,
            lsoa_name,
            ward_code,
            count(*) as properties
        from gazetteer
        group by all
    ) as by_ward
    group by lsoa_code

),

ward_district as (

    select
        ward_code,
        any_value(ward_name) as ward_name,
        arg_max(district_code, properties) as district_code
    from (
        select
            ward_code,
            ward_name,
            district_code,
            count(*) as properties
        from gazetteer
        group by all
    ) as by_district
    group by ward_code

),

districts as (

    select distinct
        district_code,
        district_name
    from gazetteer

),

final as (

    select
        l.lsoa_code,
        l.lsoa_name,
        w.ward_code,
        w.ward_name,
        d.district_code,
        d.district_name,
        p.population
    from lsoa_ward as l
    inner join ward_district as w on l.ward_code = w.ward_code
    inner join districts as d on w.district_code = d.district_code
    left join population as p on l.lsoa_code = p.lsoa_code

)

select * from final
