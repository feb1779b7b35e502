{{ config(materialized='view') }}
-- Written by `hub dbt-files` from the feed contracts; do not edit.
-- One row per month the archive holds, with a fingerprint of every supply in it: an
-- incremental build redoes the months whose fingerprint is not the one they were built
-- from (a supply arrived, was replaced or withdrawn, or its records were erased,
-- restricted, rectified or destroyed).

with

supplies as (

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_health__ae_assaults') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_ambulance__ambulance_calls') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_council__asb') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_btp__btp_crimes') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_buses__bus_incidents') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_police__crime_offence') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_police__crime_offender') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_police__crime_victim') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_fire__deliberate_fires') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_police__detection_status') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_health__drug_alcohol_admissions') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_police__drug_tests') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_drug_services__drug_treatment_adults') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_drug_services__drug_treatment_young_people') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_environment_agency__illegal_dumping') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_police__incidents') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_probation__oasys') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_police__ppo') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_prisons__prison_releases') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_rail__rail_tram_incidents') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_council__school_exclusions') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_police__stop_search') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_environment_agency__waste_sites') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_yoi__yoi_releases') }}
    group by period, supply_id

    union all

    select
        period,
        supply_id,
        count(*) as records,
        bit_xor(hash(record_key)) as record_keys,
        string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by
    from {{ ref('stg_yos__yos_assessments') }}
    group by period, supply_id

)

select
    period,
    md5(string_agg(
        supply_id || ':' || records || ':' || record_keys || ':'
        || coalesce(rectified_by, ''), ','
        order by supply_id
    )) as supplies
from supplies
group by period
