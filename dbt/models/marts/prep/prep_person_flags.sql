-- What every agency knows of a person that bears on risk or protection (the public-health approach
-- of the Thames Valley Violence Reduction Unit, Thames Valley Together): the latest status where an
-- agency grades one (PPO, probation risks, youth justice), and counts of what happened to or around
-- them. One row per person ID; zero where an agency has nothing.

with

records as (

    select * from {{ ref('prep_person_records') }}

),

event_people as (

    select * from {{ ref('int_event_people') }}

),

events as (

    select * from {{ ref('int_events') }}

),

ppo as (

    select * from {{ ref('stg_police__ppo') }}

),

oasys as (

    select * from {{ ref('stg_probation__oasys') }}

),

yos as (

    select * from {{ ref('stg_yos__yos_assessments') }}

),

releases as (

    select
        record_id,
        release_date
    from {{ ref('stg_prisons__prison_releases') }}
    union all
    select
        record_id,
        release_date
    from {{ ref('stg_yoi__yoi_releases') }}

),

drug_tests as (

    select * from {{ ref('stg_police__drug_tests') }}

),

graded as (

    select
        r.person_id,
        arg_max(ppo.status, r.period) filter (where ppo.status is not null) as ppo_status,
        arg_max(oasys.reconviction_risk, oasys.event_date)
        filter (where oasys.reconviction_risk is not null) as reconviction_risk,
        arg_max(oasys.harm_risk, oasys.event_date)
        filter (where oasys.harm_risk is not null) as harm_risk,
        arg_max(yos.persistent = 'Y', yos.event_date)
        filter (where yos.persistent is not null) as yos_persistent,
        max(releases.release_date) as last_release_date,
        count(drug_tests.record_id) filter (where drug_tests.result = 'Positive')
            as positive_drug_tests
    from records as r
    left join ppo on r.record_id = ppo.record_id
    left join oasys on r.record_id = oasys.record_id
    left join yos on r.record_id = yos.record_id
    left join releases on r.record_id = releases.record_id
    left join drug_tests on r.record_id = drug_tests.record_id
    group by r.person_id

),

counted as (

    select
        r.person_id,
        count(distinct e.event_id) filter (where ep.role = 'offender') as offences,
        count(distinct e.event_id) filter (where ep.role = 'victim') as victimisations,
        count(distinct e.event_id) filter (where e.source_feed = 'stop_search')
            as stop_searches,
        count(distinct e.event_id) filter (where e.source_feed = 'ae_assaults')
            as ae_assault_attendances,
        count(distinct e.event_id)
        filter (where e.source_feed = 'ambulance_calls' and e.category = 'C2 - Assault')
            as ambulance_assault_calls,
        count(distinct e.event_id) filter (where e.source_feed = 'drug_alcohol_admissions')
            as drug_alcohol_admissions,
        count(distinct e.event_id) filter (where e.event_type = 'drug treatment start')
            as drug_treatment_starts,
        count(distinct e.event_id) filter (where e.source_feed = 'school_exclusions')
            as school_exclusions,
        count(distinct e.event_id)
        filter (where e.source_feed in ('prison_releases', 'yoi_releases'))
            as custody_releases
    from records as r
    inner join event_people as ep on r.person_record_id = ep.person_record_id
    inner join events as e on ep.event_id = e.event_id
    group by r.person_id

),

final as (

    select
        g.person_id,
        g.ppo_status,
        g.reconviction_risk,
        g.harm_risk,
        coalesce(g.yos_persistent, false) as yos_persistent,
        g.last_release_date,
        g.positive_drug_tests,
        coalesce(c.offences, 0) as offences,
        coalesce(c.victimisations, 0) as victimisations,
        coalesce(c.stop_searches, 0) as stop_searches,
        coalesce(c.ae_assault_attendances, 0) as ae_assault_attendances,
        coalesce(c.ambulance_assault_calls, 0) as ambulance_assault_calls,
        coalesce(c.drug_alcohol_admissions, 0) as drug_alcohol_admissions,
        coalesce(c.drug_treatment_starts, 0) as drug_treatment_starts,
        coalesce(c.school_exclusions, 0) as school_exclusions,
        coalesce(c.custody_releases, 0) as custody_releases
    from graded as g
    left join counted as c on g.person_id = c.person_id

)

select * from final
