{{ config(materialized='incremental', incremental_strategy='replace_months',
          on_schema_change='fail') }}
{%- set in_months = months_to_build() %}
-- Written by `hub dbt-files` from the feed contracts; do not edit.
-- One row per address or location mention in any feed: the common schema the
-- place spine matches to UPRNs.

with

mentions as (

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        location_description as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_health__ae_assaults') }}
    where (location_description is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':patient' as place_record_id,
        record_id,
        source_feed,
        'home of patient' as kind,
        nullif(concat_ws(', ', patient_address_line1, patient_address_line2, patient_town), '') as address,
        patient_address_line1 as address_line1,
        patient_address_line2 as locality,
        null::varchar as street,
        patient_town as town,
        patient_postcode as postcode,
        null::integer as easting,
        null::integer as northing,
        patient_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_health__ae_assaults') }}
    where (patient_address_line1 is not null or patient_address_line2 is not null or patient_postcode is not null or patient_town is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        nullif(concat_ws(', ', location_address_line1, location_address_line2, location_town), '') as address,
        location_address_line1 as address_line1,
        location_address_line2 as locality,
        null::varchar as street,
        location_town as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_ambulance__ambulance_calls') }}
    where (location_address is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':patient' as place_record_id,
        record_id,
        source_feed,
        'home of patient' as kind,
        nullif(concat_ws(', ', patient_address_line1, patient_address_line2, patient_town), '') as address,
        patient_address_line1 as address_line1,
        patient_address_line2 as locality,
        null::varchar as street,
        patient_town as town,
        patient_postcode as postcode,
        null::integer as easting,
        null::integer as northing,
        patient_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_ambulance__ambulance_calls') }}
    where (patient_address is not null or patient_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        nullif(concat_ws(', ', location_address_line1, location_address_line2, location_town), '') as address,
        location_address_line1 as address_line1,
        location_address_line2 as locality,
        null::varchar as street,
        location_town as town,
        location_postcode as postcode,
        location_easting as easting,
        location_northing as northing,
        location_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_council__asb') }}
    where (location_address is not null or location_easting is not null or location_northing is not null or location_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':keeper' as place_record_id,
        record_id,
        source_feed,
        'home of keeper' as kind,
        nullif(concat_ws(', ', keeper_address_line1, keeper_address_line2, keeper_town), '') as address,
        keeper_address_line1 as address_line1,
        keeper_address_line2 as locality,
        null::varchar as street,
        keeper_town as town,
        null::varchar as postcode,
        null::integer as easting,
        null::integer as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_council__asb') }}
    where (keeper_address is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        location_description as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_btp__btp_crimes') }}
    where (location_description is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        location_description as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_buses__bus_incidents') }}
    where (location_description is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        nullif(concat_ws(', ', location_address_line1, location_address_line2, location_town), '') as address,
        location_address_line1 as address_line1,
        location_address_line2 as locality,
        null::varchar as street,
        location_town as town,
        location_postcode as postcode,
        location_easting as easting,
        location_northing as northing,
        location_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_police__crime_offence') }}
    where (location_address is not null or location_easting is not null or location_northing is not null or location_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':offender' as place_record_id,
        record_id,
        source_feed,
        'home of offender' as kind,
        nullif(concat_ws(', ', offender_address_line1, offender_address_line2, offender_town), '') as address,
        offender_address_line1 as address_line1,
        offender_address_line2 as locality,
        null::varchar as street,
        offender_town as town,
        offender_postcode as postcode,
        offender_easting as easting,
        offender_northing as northing,
        offender_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_police__crime_offender') }}
    where (offender_address is not null or offender_easting is not null or offender_northing is not null or offender_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':victim' as place_record_id,
        record_id,
        source_feed,
        'home of victim' as kind,
        nullif(concat_ws(', ', victim_address_line1, victim_address_line2, victim_town), '') as address,
        victim_address_line1 as address_line1,
        victim_address_line2 as locality,
        null::varchar as street,
        victim_town as town,
        victim_postcode as postcode,
        victim_easting as easting,
        victim_northing as northing,
        victim_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_police__crime_victim') }}
    where (victim_address is not null or victim_easting is not null or victim_northing is not null or victim_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        nullif(concat_ws(', ', location_address_line1, location_address_line2, location_town), '') as address,
        location_address_line1 as address_line1,
        location_address_line2 as locality,
        null::varchar as street,
        location_town as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_fire__deliberate_fires') }}
    where (location_address is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':patient' as place_record_id,
        record_id,
        source_feed,
        'home of patient' as kind,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        patient_postcode as postcode,
        null::integer as easting,
        null::integer as northing,
        patient_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_health__drug_alcohol_admissions') }}
    where (patient_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':client' as place_record_id,
        record_id,
        source_feed,
        'home of client' as kind,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        client_postcode as postcode,
        null::integer as easting,
        null::integer as northing,
        client_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_drug_services__drug_treatment_adults') }}
    where (client_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':client' as place_record_id,
        record_id,
        source_feed,
        'home of client' as kind,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        client_postcode as postcode,
        null::integer as easting,
        null::integer as northing,
        client_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_drug_services__drug_treatment_young_people') }}
    where (client_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        nullif(concat_ws(', ', location_address_line1, location_address_line2, location_town), '') as address,
        location_address_line1 as address_line1,
        location_address_line2 as locality,
        null::varchar as street,
        location_town as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_environment_agency__illegal_dumping') }}
    where (location_address is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        nullif(concat_ws(', ', location_address_line1, location_address_line2, location_town), '') as address,
        location_address_line1 as address_line1,
        location_address_line2 as locality,
        null::varchar as street,
        location_town as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_police__incidents') }}
    where (location_address is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':client' as place_record_id,
        record_id,
        source_feed,
        'home of client' as kind,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        client_postcode as postcode,
        null::integer as easting,
        null::integer as northing,
        client_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_probation__oasys') }}
    where (client_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':offender' as place_record_id,
        record_id,
        source_feed,
        'home of offender' as kind,
        nullif(concat_ws(', ', offender_address_line1, offender_address_line2, offender_town), '') as address,
        offender_address_line1 as address_line1,
        offender_address_line2 as locality,
        null::varchar as street,
        offender_town as town,
        offender_postcode as postcode,
        offender_easting as easting,
        offender_northing as northing,
        offender_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_police__ppo') }}
    where (offender_address is not null or offender_easting is not null or offender_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':releasee' as place_record_id,
        record_id,
        source_feed,
        'home of releasee' as kind,
        nullif(concat_ws(', ', releasee_address_line1, releasee_address_line2, releasee_town), '') as address,
        releasee_address_line1 as address_line1,
        releasee_address_line2 as locality,
        null::varchar as street,
        releasee_town as town,
        releasee_postcode as postcode,
        releasee_easting as easting,
        releasee_northing as northing,
        releasee_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_prisons__prison_releases') }}
    where (releasee_address is not null or releasee_easting is not null or releasee_northing is not null or releasee_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        location_description as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_rail__rail_tram_incidents') }}
    where (location_description is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        location_name as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_council__school_exclusions') }}
    where (location_easting is not null or location_name is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':pupil' as place_record_id,
        record_id,
        source_feed,
        'home of pupil' as kind,
        nullif(concat_ws(', ', pupil_address_line1, pupil_town), '') as address,
        pupil_address_line1 as address_line1,
        null::varchar as locality,
        null::varchar as street,
        pupil_town as town,
        pupil_postcode as postcode,
        null::integer as easting,
        null::integer as northing,
        pupil_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_council__school_exclusions') }}
    where (pupil_address_line1 is not null or pupil_postcode is not null or pupil_town is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        nullif(concat_ws(', ', location_address_line1, location_address_line2, location_town), '') as address,
        location_address_line1 as address_line1,
        location_address_line2 as locality,
        null::varchar as street,
        location_town as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_police__stop_search') }}
    where (location_address is not null or location_easting is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':location' as place_record_id,
        record_id,
        source_feed,
        'event location' as kind,
        nullif(concat_ws(', ', location_address_line1, location_address_line2, location_town), '') as address,
        location_address_line1 as address_line1,
        location_address_line2 as locality,
        null::varchar as street,
        location_town as town,
        null::varchar as postcode,
        location_easting as easting,
        location_northing as northing,
        null::varchar as postcode_reason,
        period
    from {{ ref('stg_environment_agency__waste_sites') }}
    where (location_address is not null or location_easting is not null or location_name is not null or location_northing is not null) and {{ in_months }}

    union all

    select
        record_id || ':releasee' as place_record_id,
        record_id,
        source_feed,
        'home of releasee' as kind,
        nullif(concat_ws(', ', releasee_address_line1, releasee_address_line2, releasee_town), '') as address,
        releasee_address_line1 as address_line1,
        releasee_address_line2 as locality,
        null::varchar as street,
        releasee_town as town,
        releasee_postcode as postcode,
        releasee_easting as easting,
        releasee_northing as northing,
        releasee_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_yoi__yoi_releases') }}
    where (releasee_address is not null or releasee_easting is not null or releasee_northing is not null or releasee_postcode is not null) and {{ in_months }}

    union all

    select
        record_id || ':client' as place_record_id,
        record_id,
        source_feed,
        'home of client' as kind,
        null::varchar as address,
        null::varchar as address_line1,
        null::varchar as locality,
        null::varchar as street,
        null::varchar as town,
        client_postcode as postcode,
        null::integer as easting,
        null::integer as northing,
        client_postcode_reason as postcode_reason,
        period
    from {{ ref('stg_yos__yos_assessments') }}
    where (client_postcode is not null) and {{ in_months }}

)

select
    mentions.*,
    months.supplies as period_supplies
from mentions
inner join {{ ref('int_periods') }} as months on mentions.period = months.period
