-- The geography Level 1 counts are published by, as a tree: the partnership, its districts
-- (and "area not known", for what could not be placed), their wards, their LSOAs. Each
-- cell's parent is the cell it adds up into.

with

areas as (

    select * from {{ ref('prep_areas') }}

),

final as (

    select
        0 as level,
        'partnership' as geography,
        'all' as area_code,
        'Partnership area' as area_name,
        null as parent_code,
        sum(population) as population
    from areas

    union all

    select
        1 as level,
        'district' as geography,
        district_code as area_code,
        any_value(district_name) as area_name,
        'all' as parent_code,
        sum(population) as population
    from areas
    group by district_code

    union all

    select
        1 as level,
        'district' as geography,
        'unknown' as area_code,
        'Area not known' as area_name,
        'all' as parent_code,
        null as population

    union all

    select
        2 as level,
        'ward' as geography,
        ward_code as area_code,
        any_value(ward_name) as area_name,
        any_value(district_code) as parent_code,
        sum(population) as population
    from areas
    group by ward_code

    union all

    select
        3 as level,
        'lsoa' as geography,
        lsoa_code as area_code,
        lsoa_name as area_name,
        ward_code as parent_code,
        population
    from areas

)

select * from final
