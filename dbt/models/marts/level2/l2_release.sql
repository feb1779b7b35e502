{{ config(alias='release') }}
-- This release's record (prep_release): the same in every tier.

select * from {{ ref('prep_release') }}
