{{ config(materialized='incremental', incremental_strategy='replace_months',
          on_schema_change='fail') }}
{%- set in_months = months_to_build() %}
-- Written by `hub dbt-files` from the feed contracts; do not edit.
-- Who took part in each event, in what role: one row per person record of
-- int_person_records that belongs to an event of int_events.

with

record_events as (

    select
        record_id,
        'ae_assaults:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_health__ae_assaults') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'ambulance_calls:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_ambulance__ambulance_calls') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'asb:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_council__asb') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'btp_crimes:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_btp__btp_crimes') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'bus_incidents:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_buses__bus_incidents') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'crime_offence:' || period || ':' || event_ref as event_id
    from {{ ref('stg_police__crime_offender') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'crime_offence:' || period || ':' || event_ref as event_id
    from {{ ref('stg_police__crime_victim') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'drug_alcohol_admissions:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_health__drug_alcohol_admissions') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'crime_offence:' || period || ':' || event_ref as event_id
    from {{ ref('stg_police__drug_tests') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'drug_treatment_adults:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_drug_services__drug_treatment_adults') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'drug_treatment_young_people:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_drug_services__drug_treatment_young_people') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'oasys:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_probation__oasys') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'ppo:' || period || ':' || coalesce(offender_ref, record_id) as event_id
    from {{ ref('stg_police__ppo') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'prison_releases:' || period || ':' || coalesce(releasee_ref, record_id) as event_id
    from {{ ref('stg_prisons__prison_releases') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'rail_tram_incidents:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_rail__rail_tram_incidents') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'school_exclusions:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_council__school_exclusions') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'stop_search:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_police__stop_search') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'waste_sites:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_environment_agency__waste_sites') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'yoi_releases:' || period || ':' || coalesce(releasee_ref, record_id) as event_id
    from {{ ref('stg_yoi__yoi_releases') }}
    where {{ in_months }}

    union all

    select
        record_id,
        'yos_assessments:' || period || ':' || coalesce(event_ref, record_id) as event_id
    from {{ ref('stg_yos__yos_assessments') }}
    where {{ in_months }}

)

select
    record_events.event_id,
    people.person_record_id,
    people.role,
    people.source_feed,
    people.period,
    months.supplies as period_supplies
from {{ ref('int_person_records') }} as people
inner join record_events on people.record_id = record_events.record_id
-- a child record whose parent record has not arrived belongs to no event (yet)
inner join {{ ref('int_events') }} as events on record_events.event_id = events.event_id
inner join {{ ref('int_periods') }} as months on people.period = months.period
