{{ config(materialized='incremental', incremental_strategy='replace_months',
          on_schema_change='fail') }}
{%- set in_months = months_to_build() %}
-- Written by `hub dbt-files` from the feed contracts; do not edit.
-- One row per event (crime, incident, assessment, attendance ...) of any feed; a child
-- feed's records (the victims of a crime) belong to their parent's event.

with

records as (

    select
        'ae_assaults:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'health' as agency,
        record_id,
        event_ref,
        'A&E attendance after an assault' as event_type,
        null::varchar as category,
        event_date,
        event_time,
        case when location_description is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_health__ae_assaults') }}
    where {{ in_months }}

    union all

    select
        'ambulance_calls:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'ambulance' as agency,
        record_id,
        event_ref,
        'ambulance call' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_address is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_ambulance__ambulance_calls') }}
    where {{ in_months }}

    union all

    select
        'asb:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'council' as agency,
        record_id,
        event_ref,
        'anti-social behaviour' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_address is not null or location_easting is not null or location_northing is not null or location_postcode is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_council__asb') }}
    where {{ in_months }}

    union all

    select
        'btp_crimes:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'btp' as agency,
        record_id,
        event_ref,
        'transport crime' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_description is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_btp__btp_crimes') }}
    where {{ in_months }}

    union all

    select
        'bus_incidents:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'buses' as agency,
        record_id,
        event_ref,
        'transport crime' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_description is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_buses__bus_incidents') }}
    where {{ in_months }}

    union all

    select
        'crime_offence:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'police' as agency,
        record_id,
        event_ref,
        'crime' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_address is not null or location_easting is not null or location_northing is not null or location_postcode is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_police__crime_offence') }}
    where {{ in_months }}

    union all

    select
        'deliberate_fires:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'fire' as agency,
        record_id,
        event_ref,
        'deliberate fire' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_address is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_fire__deliberate_fires') }}
    where {{ in_months }}

    union all

    select
        'drug_alcohol_admissions:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'health' as agency,
        record_id,
        event_ref,
        'hospital admission' as event_type,
        null::varchar as category,
        event_date,
        null::time as event_time,
        null::varchar as place_record_id,
        period,
        row_number
    from {{ ref('stg_health__drug_alcohol_admissions') }}
    where {{ in_months }}

    union all

    select
        'drug_treatment_adults:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'drug_services' as agency,
        record_id,
        event_ref,
        'drug treatment start' as event_type,
        null::varchar as category,
        event_date,
        null::time as event_time,
        null::varchar as place_record_id,
        period,
        row_number
    from {{ ref('stg_drug_services__drug_treatment_adults') }}
    where {{ in_months }}

    union all

    select
        'drug_treatment_young_people:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'drug_services' as agency,
        record_id,
        event_ref,
        'drug treatment start' as event_type,
        null::varchar as category,
        event_date,
        null::time as event_time,
        null::varchar as place_record_id,
        period,
        row_number
    from {{ ref('stg_drug_services__drug_treatment_young_people') }}
    where {{ in_months }}

    union all

    select
        'illegal_dumping:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'environment_agency' as agency,
        record_id,
        event_ref,
        'illegal dumping' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_address is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_environment_agency__illegal_dumping') }}
    where {{ in_months }}

    union all

    select
        'incidents:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'police' as agency,
        record_id,
        event_ref,
        'incident' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_address is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_police__incidents') }}
    where {{ in_months }}

    union all

    select
        'oasys:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'probation' as agency,
        record_id,
        event_ref,
        'probation assessment' as event_type,
        null::varchar as category,
        event_date,
        null::time as event_time,
        null::varchar as place_record_id,
        period,
        row_number
    from {{ ref('stg_probation__oasys') }}
    where {{ in_months }}

    union all

    select
        'ppo:' || period || ':' || coalesce(offender_ref, record_id) as event_id,
        source_feed,
        'police' as agency,
        record_id,
        null::varchar as event_ref,
        'PPO cohort membership' as event_type,
        null::varchar as category,
        null::date as event_date,
        null::time as event_time,
        null::varchar as place_record_id,
        period,
        row_number
    from {{ ref('stg_police__ppo') }}
    where {{ in_months }}

    union all

    select
        'prison_releases:' || period || ':' || coalesce(releasee_ref, record_id) as event_id,
        source_feed,
        'prisons' as agency,
        record_id,
        null::varchar as event_ref,
        'prison release' as event_type,
        null::varchar as category,
        null::date as event_date,
        null::time as event_time,
        null::varchar as place_record_id,
        period,
        row_number
    from {{ ref('stg_prisons__prison_releases') }}
    where {{ in_months }}

    union all

    select
        'rail_tram_incidents:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'rail' as agency,
        record_id,
        event_ref,
        'transport crime' as event_type,
        event_type as category,
        event_date,
        event_time,
        case when location_description is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_rail__rail_tram_incidents') }}
    where {{ in_months }}

    union all

    select
        'school_exclusions:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'council' as agency,
        record_id,
        event_ref,
        'school exclusion' as event_type,
        null::varchar as category,
        event_date,
        null::time as event_time,
        case when location_easting is not null or location_name is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_council__school_exclusions') }}
    where {{ in_months }}

    union all

    select
        'stop_search:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'police' as agency,
        record_id,
        event_ref,
        'stop and search' as event_type,
        null::varchar as category,
        event_date,
        event_time,
        case when location_address is not null or location_easting is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_police__stop_search') }}
    where {{ in_months }}

    union all

    select
        'waste_sites:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'environment_agency' as agency,
        record_id,
        event_ref,
        'illegal waste site' as event_type,
        null::varchar as category,
        event_date,
        null::time as event_time,
        case when location_address is not null or location_easting is not null or location_name is not null or location_northing is not null then record_id || ':location' end as place_record_id,
        period,
        row_number
    from {{ ref('stg_environment_agency__waste_sites') }}
    where {{ in_months }}

    union all

    select
        'yoi_releases:' || period || ':' || coalesce(releasee_ref, record_id) as event_id,
        source_feed,
        'yoi' as agency,
        record_id,
        null::varchar as event_ref,
        'youth custody release' as event_type,
        null::varchar as category,
        null::date as event_date,
        null::time as event_time,
        null::varchar as place_record_id,
        period,
        row_number
    from {{ ref('stg_yoi__yoi_releases') }}
    where {{ in_months }}

    union all

    select
        'yos_assessments:' || period || ':' || coalesce(event_ref, record_id) as event_id,
        source_feed,
        'yos' as agency,
        record_id,
        event_ref,
        'youth justice assessment' as event_type,
        null::varchar as category,
        event_date,
        null::time as event_time,
        null::varchar as place_record_id,
        period,
        row_number
    from {{ ref('stg_yos__yos_assessments') }}
    where {{ in_months }}

)

select
    records.event_id,
    records.source_feed,
    records.agency,
    records.record_id,
    records.event_ref,
    records.event_type,
    records.category,
    records.event_date,
    records.event_time,
    records.place_record_id,
    records.period,
    months.supplies as period_supplies
from records
inner join {{ ref('int_periods') }} as months on records.period = months.period
-- a record supplied twice, byte for byte, is one event
qualify row_number() over (partition by records.event_id order by records.row_number) = 1
