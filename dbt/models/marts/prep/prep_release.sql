-- The release record every tier carries: which release, the months it covers, each feed's
-- supplies, the spines' figures, and what the privacy rules did (k-anonymity, disclosure
-- control). The release id and the pseudonym key's fingerprint are set by the publishing
-- asset (dbt vars).

with

release_window as (

    select * from {{ ref('prep_release_window') }}

),

supplies as (

    select * from {{ source('ops', 'supply_register') }}

),

spine_runs as (

    select * from {{ source('spine', 'runs') }}

),

place_matches as (

    select * from {{ source('spine', 'place_matches') }}

),

people as (

    select * from {{ ref('prep_people') }}

),

person_factors as (

    select * from {{ ref('l2_person_factors') }}

),

profile as (

    select suppression from {{ ref('l1_strategic_profile') }}
    union all
    select suppression from {{ ref('l1_risk_factor_rates') }}

),

feeds as (

    select
        list({
            'feed': feed,
            'months_loaded': months_loaded,
            'months_refused': months_refused,
            'last_month': last_month
        } order by feed) as feeds
    from (
        select
            s.feed,
            count(distinct s.period) filter (where s.status = 'loaded') as months_loaded,
            count(distinct s.period) filter (
                where s.status = 'quarantined' and not exists (
                    select 1 from supplies as l
                    where l.feed = s.feed and l.period = s.period and l.status = 'loaded'
                )
            ) as months_refused,
            max(s.period) filter (where s.status = 'loaded') as last_month
        from supplies as s
        cross join release_window as w
        where s.period between w.first_month and w.last_month
        group by s.feed
    ) as per_feed

),

spine as (

    select
        arg_max(persons, started_at) as persons,
        arg_max(records, started_at) as person_records,
        arg_max(review_queue, started_at) as person_review_queue
    from spine_runs

),

places as (

    select
        count(*) as place_mentions,
        avg((method in ('exact', 'probabilistic', 'clerical', 'street-level'))::integer)
            as place_match_rate
    from place_matches

),

anonymity as (

    select
        min(class_size) as k_anonymity,
        count(*) filter (where generalisation > 0) as people_generalised,
        (select count(*) from people) - count(*) as people_withheld
    from person_factors

),

disclosure as (

    select
        count(*) as level1_cells,
        count(*) filter (where suppression = 'primary') as cells_suppressed_primary,
        count(*) filter (where suppression = 'secondary') as cells_suppressed_secondary
    from profile

),

final as (

    select
        '{{ var("release_id", "unreleased") }}' as release_id,
        current_timestamp::timestamp as built_at,
        w.first_month,
        w.last_month,
        w.months,
        f.feeds,
        s.persons,
        s.person_records,
        s.person_review_queue,
        p.place_mentions,
        round(p.place_match_rate, 4) as place_match_rate,
        a.k_anonymity,
        a.people_generalised,
        a.people_withheld,
        d.level1_cells,
        d.cells_suppressed_primary,
        d.cells_suppressed_secondary,
        '{{ var("pseudonym_key_id", "unknown") }}' as pseudonym_key_id
    from release_window as w
    cross join feeds as f
    cross join spine as s
    cross join places as p
    cross join anonymity as a
    cross join disclosure as d

)

select * from final
