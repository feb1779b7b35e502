{{ config(alias='person_factors') }}
-- One row per person: the risk and protective factors every agency records (seeds/001),
-- as counts and flags, with age band, sex, ethnicity and home postcode sector made
-- k-anonymous (k = 5): a person whose combination fewer than 5 others share is published
-- more generally (sector to postcode district to postcode area, bands widened, ethnicity
-- to its broad group), and withheld only if even the most general is still too rare.

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
        [
            {
                'age_band': {{ age_band('p.age') }}, 'sex': p.sex, 'ethnicity': p.ethnicity,
                'area': {{ postcode_sector('p.current_postcode') }}, 'area_type': 'postcode sector'
            },
            {
                'age_band': {{ age_band('p.age') }}, 'sex': p.sex, 'ethnicity': p.ethnicity,
                'area': {{ postcode_district('p.current_postcode') }}, 'area_type': 'postcode district'
            },
            {
                'age_band': {{ wide_age_band('p.age') }}, 'sex': p.sex, 'ethnicity': p.ethnicity,
                'area': {{ postcode_district('p.current_postcode') }}, 'area_type': 'postcode district'
            },
            {
                'age_band': {{ wide_age_band('p.age') }}, 'sex': p.sex,
                'ethnicity': {{ ethnic_group('p.ethnicity') }},
                'area': {{ postcode_district('p.current_postcode') }}, 'area_type': 'postcode district'
            },
            {
                'age_band': {{ wide_age_band('p.age') }}, 'sex': p.sex,
                'ethnicity': {{ ethnic_group('p.ethnicity') }},
                'area': {{ postcode_area('p.current_postcode') }}, 'area_type': 'postcode area'
            },
            {
                'age_band': {{ wide_age_band('p.age') }}, 'sex': p.sex, 'ethnicity': null,
                'area': {{ postcode_area('p.current_postcode') }}, 'area_type': 'postcode area'
            },
            {
                'age_band': null, 'sex': null, 'ethnicity': null, 'area': null, 'area_type': null
            }
        ] as ladder
    from people as p

),

{{ k_anonymise('quasi', var('k_anonymity', 5)) }},

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
        f.ppo_status,
        f.reconviction_risk,
        f.harm_risk,
        f.yos_persistent,
        f.last_release_date is not null as released_from_custody,
        f.positive_drug_tests,
        f.offences,
        f.victimisations,
        f.stop_searches,
        f.ae_assault_attendances,
        f.ambulance_assault_calls,
        f.drug_alcohol_admissions,
        f.drug_treatment_starts,
        f.school_exclusions,
        f.custody_releases
    from anonymised as a
    left join flags as f on a.person_id = f.person_id
    where not a.withheld

)

select * from final
