{{ config(alias='area_boundaries') }}
-- The areas' boundaries, for maps of Level 1's cells: public geography, no count in it.

with boundaries as (
    select * from {{ source('reference', 'boundaries') }}
)

select
    geography,
    code as area_code,
    name as area_name,
    geometry
from boundaries
