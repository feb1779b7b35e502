{{ config(materialized='ephemeral') }}
-- The areas Level 2 may widen a home postcode to, smallest first (macros/tiers.sql): its
-- sector ("RG1 4AB" -> "RG1 4"), district ("RG1") and area ("RG"). Ephemeral, so built
-- nowhere: the rule's own model, for the unit test that pins it down (_prep__unit_tests.yml).

with

people as (

    select * from {{ ref('prep_people') }}

),

final as (

    select distinct
        current_postcode as postcode,
        {{ postcode_sector('current_postcode') }} as postcode_sector,
        {{ postcode_district('current_postcode') }} as postcode_district,
        {{ postcode_area('current_postcode') }} as postcode_area
    from people
    where current_postcode is not null

)

select * from final
