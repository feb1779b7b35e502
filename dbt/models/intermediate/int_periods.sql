{{ config(materialized='view') }}
-- Written by `hub dbt-files` from the feed contracts; do not edit.
-- One row per month the archive holds, with a fingerprint of every supply in it: an
-- incremental build redoes the months whose fingerprint is not the one they were built
-- from (a supply arrived, was replaced or withdrawn).

with

supplies as (

    select distinct
        period,
        supply_id
    from {{ ref('stg_health__ae_assaults') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_ambulance__ambulance_calls') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_council__asb') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_btp__btp_crimes') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_buses__bus_incidents') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_police__crime_offence') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_police__crime_offender') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_police__crime_victim') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_fire__deliberate_fires') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_police__detection_status') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_health__drug_alcohol_admissions') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_police__drug_tests') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_drug_services__drug_treatment_adults') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_drug_services__drug_treatment_young_people') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_environment_agency__illegal_dumping') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_police__incidents') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_probation__oasys') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_police__ppo') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_prisons__prison_releases') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_rail__rail_tram_incidents') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_council__school_exclusions') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_police__stop_search') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_environment_agency__waste_sites') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_yoi__yoi_releases') }}

    union all

    select distinct
        period,
        supply_id
    from {{ ref('stg_yos__yos_assessments') }}

)

select
    period,
    md5(string_agg(supply_id, ',' order by supply_id)) as supplies
from supplies
group by period
