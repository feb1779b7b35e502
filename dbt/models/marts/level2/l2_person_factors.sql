{{ config(alias='person_factors') }}
-- One row per person: the risk and protective factors every agency records (the
-- public-health approach of the Thames Valley Violence Reduction Unit, Thames Valley Together),
-- as counts and flags, with age band, sex, ethnicity, home postcode sector and whether they
-- were a victim and an offender (what a neighbour may know) made k-anonymous (k = 5) and
-- l-diverse (no class whose members all share a sensitive flag): such a person is published
-- more generally (sector to postcode district to postcode area, bands widened, ethnicity to
-- its broad group, the victim and offender bands widened), and withheld only if even the
-- most general is still unsafe. The one Level 2 table with person keys
-- (docs/disclosure-control.md).

with

people as (

    select * from {{ ref('prep_people') }}

),

flags as (

    select * from {{ ref('prep_person_flags') }}

),

quasi as (

    select
        p.person_id,
        f.* exclude (person_id),  -- noqa: RF02
        [
            {{ person_rung('age_band', 'ethnicity', 'postcode_sector', 'band') }},
            {{ person_rung('age_band', 'ethnicity', 'postcode_district', 'band') }},
            {{ person_rung('wide_age_band', 'ethnicity', 'postcode_district', 'band') }},
            {{ person_rung('wide_age_band', 'ethnic_group', 'postcode_district', 'band') }},
            {{ person_rung('wide_age_band', 'ethnic_group', 'postcode_area', 'band') }},
            {{ person_rung('wide_age_band', none, 'postcode_area', 'band') }},
            {{ person_rung('wide_age_band', none, 'postcode_area', 'ever') }},
            {
                'age_band': null, 'sex': null, 'ethnicity': null, 'area': null,
                'area_type': null, 'victim': null, 'offender': null
            }
        ] as ladder
    from people as p
    left join flags as f on p.person_id = f.person_id

),

{{ k_anonymise('quasi', var('k_anonymity', 5), sensitive=[
    "ppo_status is not null",
    "reconviction_risk in ('HIGH', 'VERY HIGH')",
    "harm_risk in ('HIGH', 'VERY HIGH')",
    "yos_persistent",
    "last_release_date is not null",
    "positive_drug_tests > 0",
    "drug_treatment_starts > 0",
    "drug_alcohol_admissions > 0",
    "school_exclusions > 0",
    "stop_searches > 0",
    "ae_assault_attendances + ambulance_assault_calls > 0",
]) }},

final as (

    select
        pseudonym(a.person_id) as person_key,
        a.published.age_band,
        a.published.sex,
        a.published.ethnicity,
        a.published.area as home_area,
        a.published.area_type as home_area_type,
        a.generalisation,
        a.class_size,
        a.ppo_status,
        a.reconviction_risk,
        a.harm_risk,
        a.yos_persistent,
        a.last_release_date is not null as released_from_custody,
        a.positive_drug_tests,
        a.published.offender,
        a.published.victim,
        a.stop_searches,
        a.ae_assault_attendances,
        a.ambulance_assault_calls,
        a.drug_alcohol_admissions,
        a.drug_treatment_starts,
        a.school_exclusions,
        a.custody_releases
    from anonymised as a
    where not a.withheld

)

select * from final
