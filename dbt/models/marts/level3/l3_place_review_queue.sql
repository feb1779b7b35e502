{{ config(alias='place_review_queue') }}
-- Place mentions the spine could not decide, with up to three candidates each, for a
-- reviewer to settle in data/review/place_decisions.csv.

select * from {{ source('spine', 'place_review_queue') }}
